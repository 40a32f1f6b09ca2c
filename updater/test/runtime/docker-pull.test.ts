import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { isMinerhaulError } from '@minerhaul/signing';
import { pullByDigest, pullErrorCode, pullEventError, requireDigestReference } from '@minerhaul/updater';

const REF = `127.0.0.1:5000/miner@sha256:${'e'.repeat(64)}`;

/** A real dockerode (and its followProgress) whose pull answers with the given progress lines. */
function engineAnswering(lines: object[]): Docker {
  const docker = new Docker({ socketPath: '/nonexistent/docker.sock' });
  docker.pull = (async () =>
    Readable.from(lines.map((l) => `${JSON.stringify(l)}\n`))) as unknown as Docker['pull'];
  return docker;
}

describe('pullEventError', () => {
  it.each([
    [{ status: 'Downloading', id: 'abc' }, undefined],
    [{ error: 'manifest unknown' }, 'manifest unknown'],
    [{ errorDetail: { message: 'denied: requested access' } }, 'denied: requested access'],
    [{ error: '' }, undefined],
  ])('reads %p', (event, expected) => {
    expect(pullEventError(event)).toBe(expected);
  });
});

describe('pullErrorCode', () => {
  it.each([
    ['unauthorized: authentication required', 'E_AUTH'],
    ['manifest unknown: manifest unknown', 'E_NOT_FOUND'],
    ['x509: certificate signed by unknown authority', 'E_TLS'],
    ['filesystem layer verification failed for digest sha256:abc', 'E_DIGEST'],
    ['no basic auth credentials', 'E_AUTH'],
    ['unexpected EOF', 'E_RUNTIME'],
  ])('maps %p to %s', (message, code) => {
    expect(pullErrorCode(message)).toBe(code);
  });
});

describe('pullByDigest', () => {
  describe('when the progress stream reports an error in-band (HTTP 200)', () => {
    it('fails with the mapped code', async () => {
      const docker = engineAnswering([
        { status: 'Pulling from miner', id: 'sha256' },
        { status: 'Downloading', progressDetail: { current: 10, total: 100 } },
        {
          errorDetail: { message: 'unauthorized: authentication required' },
          error: 'unauthorized: authentication required',
        },
      ]);
      const err = await pullByDigest(docker, REF, { username: 'u', password: 'p' }).catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_AUTH')).toBe(true);
    });

    it('fails even when the error is not the last line', async () => {
      const docker = engineAnswering([
        { error: 'read: connection reset by peer' },
        { status: 'Status: done' },
      ]);
      const err = await pullByDigest(docker, REF, undefined).catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_RUNTIME')).toBe(true);
    });
  });

  it('resolves when every progress object is clean', async () => {
    const docker = engineAnswering([{ status: 'Pulling' }, { status: `Digest: sha256:${'e'.repeat(64)}` }]);
    await expect(pullByDigest(docker, REF, undefined)).resolves.toBeUndefined();
  });

  it('refuses a reference not pinned by digest before contacting the engine', async () => {
    const docker = engineAnswering([]);
    const pull = jest.fn(docker.pull);
    docker.pull = pull as unknown as Docker['pull'];
    const err = await pullByDigest(docker, '127.0.0.1:5000/miner:latest', undefined).catch((e: unknown) => e);
    expect(isMinerhaulError(err, 'E_CONFIG')).toBe(true);
    expect(pull).not.toHaveBeenCalled();
  });
});

describe('requireDigestReference', () => {
  it.each(['miner@sha256:abc', 'miner:1.0', `miner@sha512:${'e'.repeat(128)}`, `@sha256:${'e'.repeat(64)}`])(
    'refuses %p',
    (ref) => {
      expect(() => requireDigestReference(ref)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    },
  );
});
