import { spawn } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMinerhaulError } from '@minerhaul/signing';
import { BubblewrapRuntime, checkHealth, type RuntimeRelease } from '@minerhaul/updater';
import { requireTool } from '../../../test/support/require-tool';
import {
  freePort,
  minerGet,
  testMinerConfig,
  waitForMinerVersion,
  writeTestMinerTree,
} from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';

const FAST_BACKOFF = { initialMs: 100, maxMs: 400, resetAfterMs: 60_000 };

function release(
  root: string,
  version: string,
  port: number,
  mode: 'slim' | 'full',
  tree: Parameters<typeof writeTestMinerTree>[1] = { version },
): RuntimeRelease {
  const releaseDir = writeTestMinerTree(join(root, 'releases', `${version}-${mode}`), {
    ...tree,
    rootfs: mode === 'full',
  });
  return {
    digest: `sha256:${version.replace(/\W/g, '').padEnd(64, '0')}`,
    manifestDigest: `sha256:${version.replace(/\W/g, '').padEnd(64, '1')}`,
    version,
    sequence: Number(version.replace(/\D/g, '')),
    bubblewrap: { releaseDir, mode },
    config: testMinerConfig(port),
  };
}

describe('BubblewrapRuntime', () => {
  beforeAll(() => {
    requireTool('bwrap');
    requireTool('busybox');
  });

  for (const mode of ['slim', 'full'] as const) {
    describe(`when swapping v1 -> v2 in ${mode} mode`, () => {
      const tmp = makeTmpDir('minerhaul-bwrap-');
      let runtime: BubblewrapRuntime;
      afterAll(async () => {
        await runtime?.stop();
        tmp.cleanup();
      });

      it('serves v2 afterwards, with no capabilities, and reverts to v2 after a failing v3', async () => {
        const port = await freePort();
        const dataDir = join(tmp.path, 'data');
        runtime = new BubblewrapRuntime({
          stateDir: join(tmp.path, 'state'),
          dataDir,
          backoff: FAST_BACKOFF,
        });
        const v1 = release(tmp.path, '1.0.1', port, mode);
        const v2 = release(tmp.path, '1.0.2', port, mode);
        const v3 = release(tmp.path, '1.0.3', port, mode, { version: '1.0.3', failHealth: true });

        await runtime.activate(await runtime.prepare(v1));
        expect(await waitForMinerVersion(port, '1.0.1')).toBe('1.0.1');
        await runtime.activate(await runtime.prepare(v2));
        expect(await waitForMinerVersion(port, '1.0.2')).toBe('1.0.2');
        expect((await runtime.current())?.digest).toBe(v2.digest);
        await checkHealth(
          { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeoutSeconds: 5 },
          runtime,
          v2.digest,
        );

        // bwrap runs as root here: without --cap-drop ALL the miner would keep every capability (§6.2).
        expect((await minerGet(port, '/caps'))?.body).toMatch(/^CapEff:\s+0+$/);
        // The data directory is shared and persistent: both releases wrote to it.
        const starts = readFileSync(join(dataDir, 'starts.log'), 'utf8');
        expect(starts).toContain('1.0.1');
        expect(starts).toContain('1.0.2');
        // The old miner got SIGTERM and stopped cleanly (not SIGKILLed with bwrap).
        expect(starts).toMatch(/ 1\.0\.1 stop\n/);

        await runtime.activate(await runtime.prepare(v3));
        expect(await waitForMinerVersion(port, '1.0.3')).toBe('1.0.3');
        const failure = await checkHealth(
          { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeoutSeconds: 1 },
          runtime,
          v3.digest,
          { intervalMs: 100 },
        ).catch((err: unknown) => err);
        expect(isMinerhaulError(failure, 'E_HEALTH')).toBe(true);

        await runtime.rollback(v2);
        expect(await waitForMinerVersion(port, '1.0.2')).toBe('1.0.2');
        expect((await minerGet(port, '/health'))?.status).toBe(200);
      });
    });
  }

  describe('when the miner crashes', () => {
    const tmp = makeTmpDir('minerhaul-bwrap-crash-');
    let runtime: BubblewrapRuntime;
    afterAll(async () => {
      await runtime?.stop();
      tmp.cleanup();
    });

    it('restarts it with growing delays until it stays up', async () => {
      const port = await freePort();
      const dataDir = join(tmp.path, 'data');
      runtime = new BubblewrapRuntime({ stateDir: join(tmp.path, 'state'), dataDir, backoff: FAST_BACKOFF });
      const crashy = release(tmp.path, '2.0.1', port, 'slim', { version: '2.0.1', crashTimes: 3 });
      await runtime.activate(await runtime.prepare(crashy));
      expect(await waitForMinerVersion(port, '2.0.1')).toBe('2.0.1');
      const now = await runtime.current();
      expect(now?.restartCount).toBe(3);
      expect(now?.running).toBe(true);
      // Start times in the data dir: gaps grow (100, 200, 400 ms backoff).
      const times = readFileSync(join(tmp.path, 'state', 'bubblewrap', 'supervisor.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes(' started 2.0.1'))
        .map((l) => Date.parse(l.split(' ')[0] as string));
      expect(times).toHaveLength(4);
      const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
      expect(gaps[0]).toBeGreaterThanOrEqual(90);
      expect(gaps[2]).toBeGreaterThan(gaps[0] as number);
      expect(readFileSync(runtime.logPaths.stderr, 'utf8')).toContain('crashing on purpose (3/3)');
      // A `running` check sees a crash-looping miner as unhealthy.
      const failing = release(tmp.path, '2.0.2', port, 'slim', { version: '2.0.2', exitAfterSeconds: 1 });
      await runtime.activate(await runtime.prepare(failing));
      const failure = await checkHealth({ kind: 'running', stableSeconds: 3 }, runtime, failing.digest, {
        intervalMs: 100,
      }).catch((err: unknown) => err);
      expect(isMinerhaulError(failure, 'E_HEALTH')).toBe(true);
    });
  });

  describe('when recovering from crashes around a swap', () => {
    const tmp = makeTmpDir('minerhaul-bwrap-recover-');
    let runtime: BubblewrapRuntime;
    afterAll(async () => {
      await runtime?.stop();
      tmp.cleanup();
    });

    it('redoes a switch the agent journalled but never signalled, and restarts a killed supervisor', async () => {
      const port = await freePort();
      // The miner's user must be able to reach its release directory (mkdtemp makes 0700).
      chmodSync(tmp.path, 0o755);
      runtime = new BubblewrapRuntime({
        stateDir: join(tmp.path, 'state'),
        dataDir: join(tmp.path, 'data'),
        backoff: FAST_BACKOFF,
        user: { uid: 65534, gid: 65534 },
      });
      const v1 = release(tmp.path, '4.0.1', port, 'slim');
      const v2 = release(tmp.path, '4.0.2', port, 'full');
      await runtime.activate(await runtime.prepare(v1));
      expect(await waitForMinerVersion(port, '4.0.1')).toBe('4.0.1');
      // The miner runs as the configured host user, not as root.
      expect((await minerGet(port, '/uid'))?.body).toBe('65534');

      // The agent died right after journalling "switch to v2" (desired.json written, no SIGHUP sent).
      const desired = runtime.supervisor.readDesired();
      const prepared = (await runtime.prepare(v2)) as unknown as { command: string[] };
      runtime.supervisor.writeDesired({
        ...(desired as NonNullable<typeof desired>),
        generation: (desired?.generation ?? 0) + 1,
        release: { digest: v2.digest, manifestDigest: v2.manifestDigest, version: v2.version, sequence: 4 },
        command: prepared.command,
      });
      expect((await minerGet(port, '/version'))?.body).toBe('4.0.1');
      await runtime.ensureRunning(v2);
      expect(await waitForMinerVersion(port, '4.0.2')).toBe('4.0.2');

      // A power cut takes the supervisor (and, through --die-with-parent, the miner) down.
      const supervisorPid = runtime.supervisor.findPid();
      expect(supervisorPid).toBeGreaterThan(0);
      process.kill(supervisorPid as number, 'SIGKILL');
      const deadline = Date.now() + 5_000;
      while ((await minerGet(port, '/version')) !== undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(await minerGet(port, '/version')).toBeUndefined();
      expect(await runtime.current()).toBeUndefined();
      await runtime.ensureRunning(v2);
      expect(await waitForMinerVersion(port, '4.0.2')).toBe('4.0.2');
      expect(runtime.supervisor.findPid()).not.toBe(supervisorPid);

      await runtime.stop();
      await runtime.stop();
      expect(await runtime.current()).toBeUndefined();
      expect(await minerGet(port, '/version')).toBeUndefined();
    });
  });

  describe('when the agent that started the supervisor is killed with SIGKILL', () => {
    const tmp = makeTmpDir('minerhaul-bwrap-agent-');
    let runtime: BubblewrapRuntime;
    afterAll(async () => {
      await runtime?.stop();
      tmp.cleanup();
    });

    it('keeps the miner running and a new agent finds it', async () => {
      const port = await freePort();
      const options = {
        stateDir: join(tmp.path, 'state'),
        dataDir: join(tmp.path, 'data'),
        backoff: FAST_BACKOFF,
      };
      const v1 = release(tmp.path, '3.0.1', port, 'slim');
      const agent = spawn(
        process.execPath,
        [join(__dirname, '../runtime/fixtures/agent-child.js'), JSON.stringify({ options, release: v1 })],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      agent.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const activated = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 20_000);
        agent.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('activated')) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        agent.on('exit', () => resolve(false));
      });
      expect({ activated, stderr }).toEqual({ activated: true, stderr: '' });
      expect(await waitForMinerVersion(port, '3.0.1')).toBe('3.0.1');

      runtime = new BubblewrapRuntime(options);
      const before = await runtime.current();
      agent.kill('SIGKILL');
      await new Promise((resolve) => agent.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, 300));

      expect((await minerGet(port, '/version'))?.body).toBe('3.0.1');
      const after = await runtime.current();
      expect(after?.running).toBe(true);
      expect(after?.pid).toBe(before?.pid);
      // Recovery is idempotent: the same release already runs, so nothing is restarted.
      await runtime.ensureRunning(v1);
      expect((await runtime.current())?.pid).toBe(before?.pid);
    });
  });
});
