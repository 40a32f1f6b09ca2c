import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayoutStore } from '../../src/layout/oci-layout-store';
import { openStore } from '../../src/open-store';
import { copyImage, inspectImage, promoteImage, signImage, verifyImage } from '../../src/publish';
import type { BuildResult } from '../../src/builder';
import { type LyingProxy, startLyingProxy } from '../../../test/support/lying-proxy';
import { type RunningRegistry, DEFAULT_USERS, startRegistry } from '../../../test/support/registry';
import { makeCa } from '../../../test/support/test-certs';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTestImage, expectCode, makeKey } from '../publish/fixtures';

jest.setTimeout(120_000);

/** Fast failures: retries with backoff are the client's business, tested there. */
const noRetry = { retry: { attempts: 1, baseDelayMs: 1 } };

describe('publishing to a real registry (docker-registry)', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let open: RunningRegistry;
  let basic: RunningRegistry;
  let tls: RunningRegistry;
  let proxy: LyingProxy;
  let layout: OciLayoutStore;
  let built: BuildResult;
  const alice = makeKey();
  const bob = makeKey();
  const [user, password] = Object.entries(DEFAULT_USERS)[0] ?? ['', ''];

  beforeAll(async () => {
    tmp = makeTmpDir();
    [open, basic, tls] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: 'htpasswd' }),
      startRegistry({ tls: true }),
    ]);
    proxy = await startLyingProxy(open.url);
    layout = new OciLayoutStore(join(tmp.path, 'layout'));
    built = await buildTestImage(layout, tmp.path, '1.0.0', 'v1.0.0');
  });
  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([open?.stop(), basic?.stop(), tls?.stop()]);
    tmp?.cleanup();
  });

  describe('when a release is pushed, signed by two maintainers and promoted (open registry)', () => {
    it('verifies with a threshold of 2 on both channels and inspect lists the signatures', async () => {
      const repo = openStore(`${open.host}/acme/miner:v1.0.0`);
      await copyImage(layout, repo, { reference: 'v1.0.0', tag: 'beta' });
      await signImage(repo, { reference: 'beta', secretKey: alice.secret });
      await signImage(repo, { reference: 'beta', secretKey: bob.secret });
      const beta = await verifyImage(repo, {
        reference: 'beta',
        trustedKeys: [alice.public, bob.public],
        threshold: 2,
      });
      expect(beta.statement).toMatchObject({
        repository: `${open.host}/acme/miner`,
        digest: built.index.digest,
        channel: 'beta',
        sequence: 1,
      });
      // docker-registry 2.8 has no referrers API: the statements are found through the fallback tag.
      expect(await repo.listTags()).toContain(`sha256-${built.index.digest.slice(7)}`);

      await promoteImage(repo, { reference: 'beta', tag: 'stable', secretKey: alice.secret });
      await promoteImage(repo, { reference: 'beta', tag: 'stable', secretKey: bob.secret });
      const stable = await verifyImage(repo, {
        reference: 'stable',
        trustedKeys: [alice.public, bob.public],
        threshold: 2,
      });
      expect(stable.subject.digest).toBe(built.index.digest);
      expect(stable.statement.channel).toBe('stable');

      const info = await inspectImage(repo, 'stable');
      expect(info.version).toBe('1.0.0');
      expect(info.signatures.map((s) => s.channel).sort()).toEqual(['beta', 'beta', 'stable', 'stable']);
    });
  });

  describe('when an image is copied to another repository of the same registry', () => {
    it('mounts the blobs, carries the signatures, and verifies under the original identity', async () => {
      const src = openStore(`${open.host}/acme/miner`);
      const dst = openStore(`${open.host}/mirror/miner`);
      const result = await copyImage(src, dst, {
        reference: 'stable',
        tag: 'stable',
        mountFrom: 'acme/miner',
      });
      expect(result.descriptor.digest).toBe(built.index.digest);
      expect(result.referrers).toBe(4);
      const v = await verifyImage(dst, {
        reference: 'stable',
        trustedKeys: [alice.public, bob.public],
        threshold: 2,
        repository: `${open.host}/acme/miner`,
      });
      expect(v.subject.digest).toBe(built.index.digest);
      await expectCode(verifyImage(dst, { reference: 'stable', trustedKeys: [alice.public] }), 'E_STATEMENT');
    });
  });

  describe('when the tag does not exist', () => {
    it('refuses copy, sign and inspect with E_NOT_FOUND', async () => {
      const repo = openStore(`${open.host}/acme/miner`);
      await expectCode(copyImage(repo, layout, { reference: 'no-such-tag' }), 'E_NOT_FOUND');
      await expectCode(signImage(repo, { reference: 'no-such-tag', secretKey: alice.secret }), 'E_NOT_FOUND');
      await expectCode(inspectImage(repo, 'no-such-tag'), 'E_NOT_FOUND');
    });
  });

  describe('when the registry needs Basic auth', () => {
    it('pushes with the right password', async () => {
      const repo = openStore(`${basic.host}/miner`, { credentials: { username: user, password } });
      const result = await copyImage(layout, repo, { reference: 'v1.0.0', tag: 'v1.0.0' });
      expect((await repo.resolve('v1.0.0'))?.digest).toBe(result.descriptor.digest);
    });
    it('refuses a wrong password with E_AUTH', async () => {
      const repo = openStore(`${basic.host}/miner`, {
        credentials: { username: user, password: 'wrong' },
        ...noRetry,
      });
      await expectCode(copyImage(layout, repo, { reference: 'v1.0.0', tag: 'x' }), 'E_AUTH');
    });
  });

  describe('when the registry speaks TLS with a private CA', () => {
    it('pushes and signs when the CA is given', async () => {
      const repo = openStore(`${tls.host}/miner`, { caCert: tls.caCertPath });
      await copyImage(layout, repo, { reference: 'v1.0.0', tag: 'stable' });
      const signed = await signImage(repo, { reference: 'stable', secretKey: alice.secret });
      expect(signed.subject.digest).toBe(built.index.digest);
    });
    it('refuses a certificate from another CA with E_TLS', async () => {
      // Loopback without a TLS option means plain HTTP (decision 0201), so the wrong CA is given.
      mkdirSync(join(tmp.path, 'wrong-ca'));
      const wrongCa = makeCa(join(tmp.path, 'wrong-ca'), 'another CA');
      const repo = openStore(`${tls.host}/miner`, { caCert: wrongCa.caCertPath, ...noRetry });
      await expectCode(inspectImage(repo, 'stable'), 'E_TLS');
    });
    it('refuses a pin on another certificate with E_TLS', async () => {
      const repo = openStore(`${tls.host}/miner`, { pinnedCert: tls.caCertPath, ...noRetry });
      await expectCode(inspectImage(repo, 'stable'), 'E_TLS');
    });
  });

  describe('when the registry lies', () => {
    beforeAll(async () => {
      await copyImage(layout, openStore(`${open.host}/lied/miner`), { reference: 'v1.0.0', tag: 'v1' });
    });
    afterEach(() => proxy.behave({ kind: 'pass' }));

    it('refuses a corrupted blob with E_DIGEST and keeps nothing of it', async () => {
      proxy.behave({ kind: 'corrupt-blob' });
      const dir = join(tmp.path, 'from-liar');
      const dst = new OciLayoutStore(dir);
      await expectCode(
        copyImage(openStore(`${proxy.host}/lied/miner`, noRetry), dst, { reference: 'v1', tag: 'v1' }),
        'E_DIGEST',
      );
      expect(await dst.resolve('v1')).toBeUndefined();
      const manifest = JSON.parse(
        (await layout.getManifest(built.manifests[0]?.digest ?? ''))?.bytes.toString() ?? '{}',
      ) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      const held = readdirSync(join(dir, 'blobs', 'sha256'));
      for (const d of [manifest.config, ...manifest.layers]) expect(held).not.toContain(d.digest.slice(7));
      expect(held.filter((b) => b.startsWith('.tmp'))).toEqual([]);
    });
    it('refuses a truncated blob with E_DIGEST', async () => {
      proxy.behave({ kind: 'truncate-blob' });
      const dst = new OciLayoutStore(join(tmp.path, 'from-liar-2'));
      await expectCode(
        copyImage(openStore(`${proxy.host}/lied/miner`, noRetry), dst, { reference: 'v1', tag: 'v1' }),
        'E_DIGEST',
      );
      expect(await dst.resolve('v1')).toBeUndefined();
    });
    it('refuses a manifest served for another digest with E_DIGEST', async () => {
      const other = await layout.getManifest(built.manifests[0]?.digest ?? '');
      proxy.behave({
        kind: 'substitute-manifest',
        bytes: other?.bytes ?? Buffer.alloc(0),
        mediaType: other?.descriptor.mediaType ?? '',
      });
      const dst = new OciLayoutStore(join(tmp.path, 'from-liar-3'));
      await expectCode(
        copyImage(openStore(`${proxy.host}/lied/miner`, noRetry), dst, {
          reference: built.index.digest,
          tag: 'v1',
        }),
        'E_DIGEST',
      );
      expect(await dst.resolve('v1')).toBeUndefined();
    });
  });
});
