import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentDaemon, formatStatus, readAgentStatus, type PostFn } from '@minerhaul/hotspot-agent';
import { MinerhaulError } from '@minerhaul/signing';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { baseConfig, release, scriptedFactory, writeConfig } from './helpers/agent-fixtures';

const manualCron = () => ({ stop: () => undefined });

describe('AgentDaemon', () => {
  const tmps: { cleanup: () => void }[] = [];
  afterAll(() => tmps.forEach((t) => t.cleanup()));

  function setup(extra: Parameters<typeof baseConfig>[1] = {}) {
    const tmp = makeTmpDir();
    tmps.push(tmp);
    const configPath = writeConfig(
      tmp.path,
      baseConfig(tmp.path, { fleet: { url: 'http://127.0.0.1:9' }, ...extra }),
    );
    const posted: Record<string, unknown>[] = [];
    const post: PostFn = async (_url, body) => {
      posted.push(JSON.parse(body) as Record<string, unknown>);
      return { status: 202, body: '' };
    };
    const engines = scriptedFactory();
    const open = () =>
      AgentDaemon.open({ configPath, engineFactory: engines.factory, post, cronTrigger: manualCron });
    return { tmp, configPath, posted, engines, open };
  }

  describe('when a cycle installs a release', () => {
    it('returns updated, records status and history, and reports it to the fleet', async () => {
      const t = setup();
      const daemon = await t.open();
      const engine = t.engines.engines[0];
      engine?.steps.push({ outcome: 'updated', release: release('1.0.0', 1) });
      const summary = await daemon.checkOnce();
      expect(summary.outcome).toBe('updated');
      const status = daemon.snapshot();
      expect(status.current?.version).toBe('1.0.0');
      expect(status.phase).toBe('committed');
      expect(status.source).toEqual({ kind: 'default', ref: '127.0.0.1:5000/vendor/miner:stable' });
      expect((await daemon.history()).map((h) => h.outcome)).toEqual(['updated']);
      expect(t.posted).toHaveLength(1);
      expect(t.posted[0]).toMatchObject({
        seq: 1,
        deviceId: daemon.deviceId,
        current: { version: '1.0.0' },
        lastError: null,
      });
      const view = await readAgentStatus(t.configPath);
      expect(view.status?.current?.version).toBe('1.0.0');
      expect(formatStatus(view.status!)).toContain('running    1.0.0 (sequence 1');
    });
  });

  describe('when nothing changed', () => {
    it('returns up-to-date without a history entry', async () => {
      const t = setup();
      const daemon = await t.open();
      expect((await daemon.checkOnce()).outcome).toBe('up-to-date');
      expect(await daemon.history()).toEqual([]);
    });
  });

  describe('when the release needs a newer agent', () => {
    it('returns failed with E_INCOMPATIBLE and the report says so', async () => {
      const t = setup();
      const daemon = await t.open();
      t.engines.engines[0]?.steps.push(new MinerhaulError('E_INCOMPATIBLE', 'needs agent 9.0.0'));
      const summary = await daemon.checkOnce();
      expect(summary).toMatchObject({ outcome: 'failed', errorCode: 'E_INCOMPATIBLE' });
      expect(daemon.snapshot().lastErrorCode).toBe('E_INCOMPATIBLE');
      expect(t.posted.at(-1)).toMatchObject({ lastError: 'E_INCOMPATIBLE', phase: 'failed' });
    });
  });

  describe('when the fleet is not configured', () => {
    it('sends no report at all', async () => {
      const t = setup({ fleet: undefined });
      const cfg = JSON.parse(readFileSync(t.configPath, 'utf8'));
      delete cfg.fleet;
      writeFileSync(t.configPath, JSON.stringify(cfg));
      const daemon = await t.open();
      await daemon.checkOnce();
      expect(t.posted).toEqual([]);
    });
  });

  describe('the staged rollout hook', () => {
    it('admits by a stable hash: 0 % nobody, 100 % everybody, and a wider rollout keeps the devices it had', async () => {
      const t = setup();
      const daemon = await t.open();
      const digest = release('3.0.0', 3).digest;
      expect(daemon.admit({ digest, rollout: 0 })).toBe(false);
      expect(daemon.admit({ digest, rollout: 100 })).toBe(true);
      expect(daemon.admit({ digest })).toBe(true);
      const firstIn = [1, 5, 10, 25, 50, 75, 100].find((p) => daemon.admit({ digest, rollout: p }));
      expect(firstIn).toBeDefined();
      for (const wider of [firstIn!, 100]) expect(daemon.admit({ digest, rollout: wider })).toBe(true);
    });
  });

  describe('the update lock hook', () => {
    it('defers the swap while the miner holds the lock, and allows it once released', async () => {
      const t = setup();
      const lockPath = join(t.tmp.path, 'data', 'update.lock');
      const cfg = JSON.parse(readFileSync(t.configPath, 'utf8'));
      cfg.lock = { path: lockPath, maxDeferSeconds: 3600 };
      writeFileSync(t.configPath, JSON.stringify(cfg));
      const daemon = await t.open();
      require('node:fs').mkdirSync(join(t.tmp.path, 'data'), { recursive: true });
      writeFileSync(lockPath, String(process.pid));
      t.engines.engines[0]?.steps.push(async (hooks) =>
        (await hooks.beforeSwap())
          ? { outcome: 'updated', release: release('2.0.0', 2) }
          : { outcome: 'deferred' },
      );
      expect((await daemon.checkOnce()).outcome).toBe('deferred');
      require('node:fs').unlinkSync(lockPath);
      t.engines.engines[0]?.steps.push(async (hooks) =>
        (await hooks.beforeSwap())
          ? { outcome: 'updated', release: release('2.0.0', 2) }
          : { outcome: 'deferred' },
      );
      expect((await daemon.checkOnce()).outcome).toBe('updated');
    });
  });

  describe('when running', () => {
    it('reports at every heartbeat, and stops reporting when stopped', async () => {
      const t = setup({ fleet: { url: 'http://127.0.0.1:9', heartbeatSeconds: 60 } });
      const timers: { at: number; fn: () => void }[] = [];
      let now = Date.now();
      const clock = {
        now: () => now,
        setTimer: (fn: () => void, ms: number) => {
          const timer = { at: now + ms, fn };
          timers.push(timer);
          return () => void timers.splice(timers.indexOf(timer), 1);
        },
      };
      const daemon = await AgentDaemon.open({
        configPath: t.configPath,
        engineFactory: t.engines.factory,
        post: async (_url, body) => {
          t.posted.push(JSON.parse(body) as Record<string, unknown>);
          return { status: 202, body: '' };
        },
        cronTrigger: manualCron,
        clock,
      });
      await daemon.start();
      const heartbeat = () => timers.find((x) => x.at - now === 60_000);
      expect(heartbeat()).toBeDefined();
      for (let beat = 1; beat <= 2; beat++) {
        // The next beat is armed once the previous report is done.
        for (let i = 0; i < 50 && heartbeat() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
        const timer = heartbeat();
        now += 60_000;
        timers.splice(timers.indexOf(timer!), 1);
        timer?.fn();
        for (let i = 0; i < 50 && t.posted.length < beat; i++) await new Promise((r) => setTimeout(r, 10));
      }
      expect(t.posted.map((r) => r.seq)).toEqual([1, 2]);
      await daemon.stop();
      expect(heartbeat()).toBeUndefined();
    });
  });

  describe('when the config is invalid', () => {
    it('refuses to open with E_CONFIG', async () => {
      const t = setup();
      writeFileSync(t.configPath, JSON.stringify({ stateDir: 1 }));
      await expect(t.open()).rejects.toMatchObject({ code: 'E_CONFIG' });
    });
  });

  describe('when an accepted config change cannot be saved', () => {
    it('refuses it with E_CONFIG (HTTP 409) on a read-only config file and changes nothing', async () => {
      const tmp = makeTmpDir();
      tmps.push(tmp);
      // A read-only mount, as a container with /etc/minerhaul mounted :ro has (root ignores file modes).
      const etc = join(tmp.path, 'etc');
      mkdirSync(etc);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', etc]);
      try {
        const configPath = writeConfig(etc, baseConfig(tmp.path));
        execFileSync('mount', ['-o', 'remount,ro', etc]);
        const daemon = await AgentDaemon.open({
          configPath,
          engineFactory: scriptedFactory().factory,
          cronTrigger: manualCron,
        });
        const before = readFileSync(configPath, 'utf8');
        const changed = {
          ...baseConfig(tmp.path),
          defaultSource: { ref: '127.0.0.1:5000/other/miner:stable' },
        };
        const refusal = await daemon.applyConfig(changed).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(refusal).toBeInstanceOf(MinerhaulError);
        expect(refusal).toMatchObject({ code: 'E_CONFIG', details: { httpStatus: 409 } });
        expect(readFileSync(configPath, 'utf8')).toBe(before);
        expect(daemon.snapshot().source).not.toMatchObject({ ref: '127.0.0.1:5000/other/miner:stable' });
      } finally {
        execFileSync('umount', [etc]);
      }
    });
  });

  describe('when the agent stops during a cycle', () => {
    it('records no failure and sends no error report for the interrupted cycle', async () => {
      const t = setup();
      const daemon = await t.open();
      await daemon.start();
      const reportsBefore = t.posted.length;
      const engine = t.engines.engines.at(-1)!;
      // The engine child is killed by the stop: it fails the way a killed child process does.
      engine.steps.push(async () => {
        await new Promise((r) => setTimeout(r, 50));
        throw new MinerhaulError('E_RUNTIME', 'engine process failed: The operation was aborted');
      });
      const cycle = daemon.checkOnce().then(
        () => 'resolved',
        () => 'rejected',
      );
      await daemon.stop();
      expect(await cycle).toBe('rejected');
      expect(await daemon.history()).toEqual([]);
      expect(daemon.snapshot().lastErrorCode).toBeUndefined();
      expect(t.posted.slice(reportsBefore).some((r) => r.lastErrorCode === 'E_RUNTIME')).toBe(false);
    });
  });
});
