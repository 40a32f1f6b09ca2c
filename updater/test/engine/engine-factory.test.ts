import {
  createUpdateEngine,
  type CreateUpdateEngineInput,
  parseImageConfig,
  statementVerifier,
} from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { makeTestKeys } from './release-fixtures';

describe('createUpdateEngine', () => {
  const tmp = makeTmpDir('factory-');
  afterAll(() => tmp.cleanup());
  const keyLine = makeTestKeys().publicKeyText.split('\n')[1] ?? '';
  const base = (): CreateUpdateEngineInput => ({
    stateDir: tmp.path,
    source: { ref: '127.0.0.1:5000/miner:stable' },
    trust: { keys: [keyLine] },
    runtime: { kind: 'bubblewrap' },
    health: { kind: 'running', stableSeconds: 1 },
  });

  it('returns an idle engine for a valid config', () => {
    expect(createUpdateEngine(base()).status()).toEqual({ phase: 'idle', rollbackCount: 0 });
  });

  it.each<[string, string, (i: CreateUpdateEngineInput) => void]>([
    [
      'a source without tag or channel',
      'E_CONFIG',
      (i) => (i.source = { ref: `127.0.0.1:5000/miner@sha256:${'a'.repeat(64)}` }),
    ],
    ['an unparsable source', 'E_CONFIG', (i) => (i.source = { ref: 'Not A Ref' })],
    ['no trusted keys', 'E_CONFIG', (i) => (i.trust = { keys: [] })],
    ['a threshold above the keys', 'E_CONFIG', (i) => (i.trust = { keys: [keyLine], threshold: 2 })],
    ['a threshold of zero', 'E_CONFIG', (i) => (i.trust = { keys: [keyLine], threshold: 0 })],
    ['a garbled key', 'E_KEY', (i) => (i.trust = { keys: ['bm90IGEga2V5'] })],
    ['an http check without url', 'E_CONFIG', (i) => (i.health = { kind: 'http' })],
    ['an exec check without command', 'E_CONFIG', (i) => (i.health = { kind: 'exec', command: [] })],
    ['a non-numeric user', 'E_CONFIG', (i) => (i.runtime = { kind: 'bubblewrap', user: 'miner' })],
  ])('refuses %s with %s', (_name, code, change) => {
    const input = base();
    change(input);
    expect(() => createUpdateEngine(input)).toThrow(expect.objectContaining({ code }));
  });

  it('accepts docker with an oci-layout source (the image is loaded from the verified blobs)', () => {
    const input = base();
    input.source = { ref: `oci-layout:${tmp.path}:stable` };
    input.runtime = { kind: 'docker' };
    expect(createUpdateEngine(input).status().phase).toBe('idle');
  });

  it('accepts a digest source when the channel is given', () => {
    const input = base();
    input.source = { ref: `127.0.0.1:5000/miner@sha256:${'a'.repeat(64)}`, channel: 'stable' };
    expect(createUpdateEngine(input).status().phase).toBe('idle');
  });

  it('statementVerifier refuses an empty key list with E_CONFIG', () => {
    expect(() => statementVerifier({ trustedKeys: [], threshold: 1, channel: 'x' })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    );
  });
});

describe('parseImageConfig', () => {
  const layer = {
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: `sha256:${'b'.repeat(64)}`,
    size: 1,
  };
  const diffId = `sha256:${'c'.repeat(64)}`;
  const cfg = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));

  it('returns diff_ids and the process config', () => {
    const parsed = parseImageConfig(
      cfg({
        rootfs: { type: 'layers', diff_ids: [diffId] },
        config: { Entrypoint: ['/m'], Env: ['A=1'], User: '7' },
      }),
      [layer],
    );
    expect(parsed).toEqual({
      diffIds: [diffId],
      config: { entrypoint: ['/m'], cmd: [], env: ['A=1'], user: '7' },
    });
  });

  it('checks os and architecture when the image had no index to select from', () => {
    const doc = { os: 'linux', architecture: 'aarch64', rootfs: { diff_ids: [diffId] } };
    expect(parseImageConfig(cfg(doc), [layer], { os: 'linux', architecture: 'arm64' }).diffIds).toEqual([
      diffId,
    ]);
    expect(() => parseImageConfig(cfg(doc), [layer], { os: 'linux', architecture: 'amd64' })).toThrow(
      expect.objectContaining({ code: 'E_PLATFORM' }),
    );
    expect(() =>
      parseImageConfig(cfg({ rootfs: { diff_ids: [diffId] } }), [layer], {
        os: 'linux',
        architecture: 'amd64',
      }),
    ).toThrow(expect.objectContaining({ code: 'E_PLATFORM' }));
  });

  it.each([
    ['not JSON', Buffer.from('{')],
    ['no rootfs', cfg({})],
    ['a malformed diff_id', cfg({ rootfs: { diff_ids: ['sha256:XYZ'] } })],
    ['more diff_ids than layers', cfg({ rootfs: { diff_ids: [diffId, diffId] } })],
    ['a non-string Entrypoint', cfg({ rootfs: { diff_ids: [diffId] }, config: { Entrypoint: '/m' } })],
  ])('refuses %s with E_REGISTRY', (_name, bytes) => {
    expect(() => parseImageConfig(bytes, [layer])).toThrow(expect.objectContaining({ code: 'E_REGISTRY' }));
  });
});
