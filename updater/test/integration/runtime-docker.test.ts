import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { isMinerhaulError } from '@minerhaul/signing';
import { type BlobImage, checkHealth, DockerRuntime, type RuntimeRelease } from '@minerhaul/updater';
import { importTestImage, startDockerd, type TestDockerd } from '../../../test/support/dockerd';
import {
  freePort,
  minerGet,
  testMinerConfig,
  waitForMinerVersion,
  writeTestMinerTree,
} from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';

jest.setTimeout(120_000);

interface Inspect {
  Id: string;
  State: { Running: boolean; Health?: { Status: string } };
  Config: { Env: string[]; Labels: Record<string, string> };
  HostConfig: { RestartPolicy: { Name: string }; Binds: string[] | null };
}

describe('DockerRuntime', () => {
  const tmp = makeTmpDir('minerhaul-docker-');
  let engine: TestDockerd;
  const images = new Map<string, string>();

  async function inspectAll(instance: string): Promise<Inspect[]> {
    const ids = await engine.docker(['ps', '-aq', '--filter', `label=io.minerhaul.managed=${instance}`]);
    if (!ids) return [];
    return JSON.parse(await engine.docker(['inspect', ...ids.split('\n')])) as Inspect[];
  }

  function release(version: string, port: number): RuntimeRelease {
    const imageRef = images.get(version);
    if (!imageRef) throw new Error(`no image for ${version}`);
    return {
      digest: `sha256:${version.replace(/\W/g, '').padEnd(64, 'a')}`,
      manifestDigest: `sha256:${version.replace(/\W/g, '').padEnd(64, 'b')}`,
      version,
      sequence: Number(version.replace(/\D/g, '')),
      docker: { imageRef },
      config: testMinerConfig(port),
    };
  }

  /** Imports the test miner as an image; each suite part gets its own, as commit removes unused images. */
  async function importVersion(version: string, failHealth: boolean, tag: string): Promise<void> {
    const tree = writeTestMinerTree(join(tmp.path, `rootfs-${tag}-${version}`), {
      version,
      failHealth,
      rootfs: true,
    });
    images.set(
      version,
      await importTestImage(engine, tree, `test-miner-${tag}:${version}`, {
        entrypoint: ['/opt/miner/bin/miner'],
        env: ['MINER_DATA=/var/lib/miner', 'PATH=/bin'],
      }),
    );
  }

  beforeAll(async () => {
    engine = await startDockerd();
  });

  afterAll(async () => {
    await engine?.stop();
    tmp.cleanup();
  });

  describe('when updating v1 -> v2 and rolling back a failing v3', () => {
    it('carries the settings over, keeps the old container disarmed, and restarts it on rollback', async () => {
      await importVersion('1.0.1', false, 'swap');
      await importVersion('1.0.2', false, 'swap');
      await importVersion('1.0.3', true, 'swap');
      const port = await freePort();
      const dataDir = join(tmp.path, 'data');
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'swap-miner',
        stopTimeoutSeconds: 2,
        settings: {
          env: [`MINER_PORT=${port}`],
          binds: [`${dataDir}:/var/lib/miner`],
          restartPolicy: 'always',
          networkMode: 'host',
          labels: { 'com.example.owner': 'alice' },
        },
      });
      const v1 = release('1.0.1', port);
      const v2 = release('1.0.2', port);
      const v3 = release('1.0.3', port);

      await runtime.activate(await runtime.prepare(v1));
      expect(await waitForMinerVersion(port, '1.0.1')).toBe('1.0.1');

      const prepared = await runtime.prepare(v2);
      // Created before the old one is stopped: v1 still serves while v2 waits, disarmed.
      expect((await minerGet(port, '/version'))?.body).toBe('1.0.1');
      await runtime.activate(prepared);
      expect(await waitForMinerVersion(port, '1.0.2')).toBe('1.0.2');
      expect((await runtime.current())?.digest).toBe(v2.digest);

      const byVersion = new Map(
        (await inspectAll('swap-miner')).map((c) => [c.Config.Labels['io.minerhaul.version'], c]),
      );
      const old = byVersion.get('1.0.1');
      const now = byVersion.get('1.0.2');
      expect(old?.State.Running).toBe(false);
      expect(old?.HostConfig.RestartPolicy.Name).toBe('no');
      expect(now?.HostConfig.RestartPolicy.Name).toBe('always');
      expect(now?.Config.Env).toContain(`MINER_PORT=${port}`);
      expect(now?.Config.Labels['com.example.owner']).toBe('alice');
      expect(now?.HostConfig.Binds).toEqual([`${dataDir}:/var/lib/miner`]);
      const starts = readFileSync(join(dataDir, 'starts.log'), 'utf8');
      expect(starts).toMatch(/1\.0\.1[\s\S]*1\.0\.1 stop\n[\s\S]*1\.0\.2/);

      await runtime.activate(await runtime.prepare(v3));
      expect(await waitForMinerVersion(port, '1.0.3')).toBe('1.0.3');
      const failure = await checkHealth(
        { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeoutSeconds: 1 },
        runtime,
        v3.digest,
        { intervalMs: 100 },
      ).catch((err: unknown) => err);
      expect(isMinerhaulError(failure, 'E_HEALTH')).toBe(true);

      await runtime.rollback(v2, v3);
      expect(await waitForMinerVersion(port, '1.0.2')).toBe('1.0.2');
      const afterRollback = await runtime.current();
      expect(afterRollback?.containerId).toBe(now?.Id);
      // Idempotent recovery: nothing to do when the release already runs alone.
      await runtime.ensureRunning(v2);
      expect((await runtime.current())?.containerId).toBe(now?.Id);

      await runtime.commit(v2, v1);
      const left = (await inspectAll('swap-miner'))
        .map((c) => c.Config.Labels['io.minerhaul.version'])
        .sort();
      expect(left).toEqual(['1.0.1', '1.0.2']);
      await runtime.stop();
      expect(
        (await inspectAll('swap-miner')).every(
          (c) => !c.State.Running && c.HostConfig.RestartPolicy.Name === 'no',
        ),
      ).toBe(true);
    });
  });

  describe("when the image's container has a Docker HEALTHCHECK", () => {
    it('reports healthy for v1 and E_HEALTH for a v3 that fails it', async () => {
      await importVersion('1.0.1', false, 'hc');
      await importVersion('1.0.3', true, 'hc');
      const port = await freePort();
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'hc-miner',
        stopTimeoutSeconds: 2,
        settings: {
          env: [`MINER_PORT=${port}`],
          networkMode: 'host',
          healthcheck: {
            Test: ['CMD', '/bin/busybox', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${port}/health`],
            Interval: 200_000_000,
            Timeout: 1_000_000_000,
            Retries: 2,
          },
        },
      });
      const v1 = release('1.0.1', port);
      const v3 = release('1.0.3', port);
      await runtime.activate(await runtime.prepare(v1));
      await checkHealth({ kind: 'docker', timeoutSeconds: 20 }, runtime, v1.digest, { intervalMs: 200 });
      expect((await runtime.current())?.health).toBe('healthy');

      // The new container inherits the owner's HEALTHCHECK from the old one.
      await runtime.activate(await runtime.prepare(v3));
      const failure = await checkHealth({ kind: 'docker', timeoutSeconds: 20 }, runtime, v3.digest, {
        intervalMs: 200,
      }).catch((err: unknown) => err);
      expect(isMinerhaulError(failure, 'E_HEALTH')).toBe(true);
      expect((await runtime.current())?.health).toBe('unhealthy');
      await runtime.stop();
    });
  });

  describe('when the image comes from verified blobs instead of a registry', () => {
    /** Writes the test miner as one gzip layer plus an image config; returns the blobs by digest. */
    function blobImage(
      version: string,
      diffIdOverride?: string,
    ): { image: BlobImage; files: Map<string, string> } {
      const tree = writeTestMinerTree(join(tmp.path, `blob-rootfs-${version}`), { version, rootfs: true });
      const tarPath = join(tmp.path, `layer-${version}.tar`);
      execFileSync('tar', ['-C', tree, '--numeric-owner', '-cf', tarPath, '.']);
      const tar = readFileSync(tarPath);
      const gz = gzipSync(tar);
      const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
      const config = Buffer.from(
        JSON.stringify({
          architecture: process.arch === 'x64' ? 'amd64' : process.arch,
          os: 'linux',
          config: { Entrypoint: ['/opt/miner/bin/miner'], Env: ['MINER_DATA=/var/lib/miner', 'PATH=/bin'] },
          rootfs: { type: 'layers', diff_ids: [diffIdOverride ?? sha(tar)] },
        }),
      );
      const files = new Map<string, string>();
      for (const [name, bytes] of [
        [`config-${version}.json`, config],
        [`layer-${version}.tar.gz`, gz],
      ] as const) {
        writeFileSync(join(tmp.path, name), bytes);
        files.set(sha(bytes), join(tmp.path, name));
      }
      return {
        image: {
          config: { digest: sha(config), size: config.length },
          layers: [{ digest: sha(gz), size: gz.length }],
        },
        files,
      };
    }

    it('loads it with docker load and runs it by image id', async () => {
      const port = await freePort();
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'load-miner',
        stopTimeoutSeconds: 2,
        settings: { env: [`MINER_PORT=${port}`], networkMode: 'host' },
      });
      const { image, files } = blobImage('6.0.1');
      const id = await runtime.loadImage(image, async (blob) =>
        createReadStream(files.get(blob.digest) as string),
      );
      expect(id).toBe(`sha256:${image.config.digest.slice(7)}`);
      const loaded: RuntimeRelease = {
        digest: `sha256:${'6'.repeat(64)}`,
        manifestDigest: `sha256:${'7'.repeat(64)}`,
        version: '6.0.1',
        sequence: 6,
        docker: { imageRef: id },
        config: testMinerConfig(port),
      };
      await runtime.activate(await runtime.prepare(loaded));
      expect(await waitForMinerVersion(port, '6.0.1')).toBe('6.0.1');
      await runtime.stop();
    });

    it("refuses with E_NO_SPACE before loading when the Engine's disk cannot hold the image", async () => {
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'load-full',
        spaceProbe: async () => 1024,
      });
      const { image, files } = blobImage('6.0.4');
      let opened = 0;
      const err = await runtime
        .loadImage(image, async (blob) => ((opened += 1), createReadStream(files.get(blob.digest) as string)))
        .catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_NO_SPACE')).toBe(true);
      expect(opened).toBe(0);
      const inspect = await engine
        .docker(['image', 'inspect', `sha256:${image.config.digest.slice(7)}`])
        .catch(() => 'absent');
      expect(inspect).toBe('absent');
    });

    it('refuses layers that do not match the config (E_DIGEST) or their declared size', async () => {
      const runtime = new DockerRuntime({ socketPath: engine.socketPath, namePrefix: 'load-bad' });
      const wrong = blobImage('6.0.2', `sha256:${'0'.repeat(64)}`);
      const open = async (blob: { digest: string }): Promise<Readable> =>
        createReadStream(wrong.files.get(blob.digest) as string);
      const err = await runtime.loadImage(wrong.image, open).catch((e: unknown) => e);
      expect(isMinerhaulError(err, 'E_DIGEST')).toBe(true);

      const good = blobImage('6.0.3');
      const short = { ...good.image, layers: good.image.layers.map((l) => ({ ...l, size: l.size + 1 })) };
      const sizeErr = await runtime
        .loadImage(short, async (blob) => createReadStream(good.files.get(blob.digest) as string))
        .catch((e: unknown) => e);
      expect(isMinerhaulError(sizeErr, 'E_DIGEST')).toBe(true);
    });
  });

  describe('when a pull fails', () => {
    it('refuses an unreachable registry and a reference not pinned by digest', async () => {
      const runtime = new DockerRuntime({ socketPath: engine.socketPath, namePrefix: 'pull-miner' });
      const unreachable: RuntimeRelease = {
        ...release('1.0.1', 1),
        docker: { imageRef: `127.0.0.1:9/miner@sha256:${'c'.repeat(64)}` },
      };
      const err = await runtime.prepare(unreachable).catch((e: unknown) => e);
      expect(isMinerhaulError(err)).toBe(true);
      expect(['E_RUNTIME', 'E_REGISTRY', 'E_NOT_FOUND']).toContain((err as { code: string }).code);

      const byTag: RuntimeRelease = { ...unreachable, docker: { imageRef: '127.0.0.1:9/miner:latest' } };
      const tagErr = await runtime.prepare(byTag).catch((e: unknown) => e);
      expect(isMinerhaulError(tagErr, 'E_CONFIG')).toBe(true);
      expect(await inspectAll('pull-miner')).toHaveLength(0);
    });
  });
  // Last: it restarts the shared engine.
  describe('when the host reboots (dockerd restarts) after a swap', () => {
    it('revives only the active miner: the kept one has restart policy no', async () => {
      await importVersion('1.0.1', false, 'reboot');
      await importVersion('1.0.2', false, 'reboot');
      const port = await freePort();
      const runtime = new DockerRuntime({
        socketPath: engine.socketPath,
        namePrefix: 'reboot-miner',
        stopTimeoutSeconds: 2,
        settings: { env: [`MINER_PORT=${port}`], networkMode: 'host', restartPolicy: 'always' },
      });
      await runtime.activate(await runtime.prepare(release('1.0.1', port)));
      expect(await waitForMinerVersion(port, '1.0.1')).toBe('1.0.1');
      await runtime.activate(await runtime.prepare(release('1.0.2', port)));
      expect(await waitForMinerVersion(port, '1.0.2')).toBe('1.0.2');

      await engine.restart();
      expect(await waitForMinerVersion(port, '1.0.2', 20_000)).toBe('1.0.2');
      const states = (await inspectAll('reboot-miner')).map((c) => [
        c.Config.Labels['io.minerhaul.version'],
        c.State.Running,
      ]);
      expect(states.sort()).toEqual([
        ['1.0.1', false],
        ['1.0.2', true],
      ]);
      await runtime.stop();
    });
  });
});
