import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMinerhaulError } from '@minerhaul/signing';
import { DockerRuntime, type RuntimeRelease } from '@minerhaul/updater';
import { importTestImage, startDockerd, type TestDockerd } from '../../../test/support/dockerd';
import { type LyingProxy, startLyingProxy } from '../../../test/support/lying-proxy';
import { DEFAULT_USERS, type RunningRegistry, startRegistry } from '../../../test/support/registry';
import {
  freePort,
  testMinerConfig,
  waitForMinerVersion,
  writeTestMinerTree,
} from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';

jest.setTimeout(120_000);

describe('DockerRuntime pulling by digest from a registry', () => {
  const tmp = makeTmpDir('minerhaul-docker-pull-');
  let engine: TestDockerd;
  let registry: RunningRegistry;
  let proxy: LyingProxy;
  /** `repo@sha256:…` as pushed, without the registry host. */
  let pinned: string;
  const [user, password] = Object.entries(DEFAULT_USERS)[0] as [string, string];

  beforeAll(async () => {
    [engine, registry] = await Promise.all([startDockerd(), startRegistry({ auth: 'htpasswd' })]);
    proxy = await startLyingProxy(registry.url);
    // The CLI reads credentials from its own config dir (never ~/.docker), written here, not on argv.
    const config = join(tmp.path, 'docker-config');
    mkdirSync(config);
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const tree = writeTestMinerTree(join(tmp.path, 'rootfs'), { version: '5.0.1', rootfs: true });
    const id = await importTestImage(engine, tree, `${registry.host}/miner:5.0.1`, {
      entrypoint: ['/opt/miner/bin/miner'],
      env: ['MINER_DATA=/var/lib/miner', 'PATH=/bin'],
    });
    await engine.docker(['--config', config, 'push', `${registry.host}/miner:5.0.1`]);
    const repoDigest = await engine.docker(['inspect', '--format', '{{index .RepoDigests 0}}', id]);
    pinned = `miner@${repoDigest.slice(repoDigest.indexOf('@') + 1)}`;
    // Forget it locally, so that prepare() must pull.
    await engine.docker(['rmi', '-f', id]);
  });

  afterAll(async () => {
    await engine?.stop();
    await proxy?.stop();
    await registry?.stop();
    tmp.cleanup();
  });

  function release(host: string, port: number): RuntimeRelease {
    const digest = pinned.slice(pinned.indexOf('@') + 1);
    return {
      digest,
      manifestDigest: digest,
      version: '5.0.1',
      sequence: 5,
      // Small enough for any test disk: the happy path runs the real free-space check too.
      docker: { imageRef: `${host}/${pinned}`, layerBytes: 1024 * 1024 },
      config: testMinerConfig(port),
    };
  }

  describe('when the registry serves the image and the credentials are right', () => {
    it('pulls through X-Registry-Auth, creates the container and runs it', async () => {
      const port = await freePort();
      proxy.behave({ kind: 'pass' });
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'pull-ok',
        stopTimeoutSeconds: 2,
        settings: { env: [`MINER_PORT=${port}`], networkMode: 'host' },
        credentials: (ref) => (ref.startsWith(`${proxy.host}/`) ? { username: user, password } : undefined),
      });
      await runtime.activate(await runtime.prepare(release(proxy.host, port)));
      expect(await waitForMinerVersion(port, '5.0.1')).toBe('5.0.1');
      expect(proxy.requests.some((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path))).toBe(true);
      await runtime.stop();
      await runtime.discard(release(proxy.host, port));
    });
  });

  describe('when the blobs arrive corrupted (the Engine reports it inside the progress stream)', () => {
    it('fails with E_DIGEST, and creates no container', async () => {
      proxy.behave({ kind: 'corrupt-blob' });
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'pull-corrupt',
        credentials: () => ({ username: user, password }),
      });
      const err = await runtime.prepare(release(proxy.host, 1)).catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_DIGEST')).toBe(true);
      expect((err as { details?: Record<string, unknown> }).details?.inBand).toBe(true);
      expect(await runtime.current()).toBeUndefined();
      expect(await engine.docker(['ps', '-aq', '--filter', 'label=io.minerhaul.managed=pull-corrupt'])).toBe(
        '',
      );
    });
  });

  describe("when the Engine's disk cannot hold the image", () => {
    it('refuses with E_NO_SPACE before pulling anything', async () => {
      proxy.behave({ kind: 'pass' });
      const probed: string[] = [];
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'pull-full',
        credentials: () => ({ username: user, password }),
        spaceProbe: async (path) => (probed.push(path), 40 * 1024 * 1024),
      });
      const before = proxy.requests.length;
      const big = release(proxy.host, 1);
      big.docker = { imageRef: big.docker?.imageRef ?? '', layerBytes: 8 * 1024 * 1024 };
      const err = await runtime.prepare(big).catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_NO_SPACE')).toBe(true);
      // Asked about the Engine's own root, and nothing was requested from the registry.
      expect(probed[0]).toBe(await engine.docker(['info', '--format', '{{.DockerRootDir}}']));
      expect(proxy.requests.slice(before)).toEqual([]);
      expect(await engine.docker(['ps', '-aq', '--filter', 'label=io.minerhaul.managed=pull-full'])).toBe('');
    });
  });

  describe('when no credentials are given', () => {
    it('fails with E_AUTH', async () => {
      proxy.behave({ kind: 'pass' });
      const runtime = new DockerRuntime({ socketPath: engine.socketPath, namePrefix: 'pull-anon' });
      const err = await runtime.prepare(release(proxy.host, 1)).catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_AUTH')).toBe(true);
    });
  });
});
