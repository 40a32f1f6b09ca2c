import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildProcessEngine, ENGINE_CHILD_V8_FLAGS, type EngineHooks } from '@minerhaul/hotspot-agent';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { baseConfig } from './helpers/agent-fixtures';

/** Child scripts of the test's own that speak the engine IPC protocol (engine-ipc.ts). */
const SCRIPTS = {
  swapAsker: `
process.on('message', (m) => {
  if (m.type === 'job') {
    process.send({ type: 'event', event: { type: 'phase', phase: 'swap' } });
    process.send({ type: 'before-swap', id: 7 });
  } else if (m.type === 'answer') {
    process.send({ type: 'done', status: { phase: 'idle', rollbackCount: 2 },
      result: { outcome: m.value ? 'updated' : 'deferred' } });
    process.disconnect();
  }
});`,
  failing: `
process.on('message', () => {
  process.send({ type: 'done', status: { phase: 'idle', rollbackCount: 0 },
    error: { code: 'E_INCOMPATIBLE', message: 'needs agent 9.0.0', details: { minAgentVersion: '9.0.0' } } });
  process.disconnect();
});`,
  silent: `process.on('message', () => process.exit(3));`,
  heapReporter: `
const v8 = require('node:v8');
process.on('message', () => {
  process.send({ type: 'done', status: { phase: 'idle', rollbackCount: 0 },
    result: { outcome: 'up-to-date', release: { digest: process.execArgv.join(' '),
      manifestDigest: String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size),
      version: 'check', sequence: 0 } } });
  process.disconnect();
});`,
  echoJob: `
process.on('message', (m) => {
  process.send({ type: 'done', status: { phase: 'idle', rollbackCount: 0 },
    result: { outcome: 'up-to-date', release: { digest: m.deviceId, manifestDigest: m.source.kind, version: m.op, sequence: 0 } } });
  process.disconnect();
});`,
};

describe('ChildProcessEngine', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  const config = baseConfig(tmp.path);
  const source = { kind: 'default' as const, source: { ref: '127.0.0.1:1/x/y:stable' } };

  function engine(script: keyof typeof SCRIPTS, hooks: Partial<EngineHooks> = {}): ChildProcessEngine {
    const path = join(tmp.path, `${script}.js`);
    writeFileSync(path, SCRIPTS[script]);
    const full: EngineHooks = {
      deviceId: 'device-1234567890',
      admit: () => true,
      beforeSwap: async () => true,
      onEvent: () => undefined,
      ...hooks,
    };
    return new ChildProcessEngine(config, source, full, path);
  }

  describe('when the child asks before the swap', () => {
    it("answers with the daemon's beforeSwap hook and returns the child's result", async () => {
      const phases: unknown[] = [];
      const allow = engine('swapAsker', { onEvent: (e) => void phases.push(e.phase) });
      await expect(allow.check()).resolves.toEqual({ outcome: 'updated' });
      expect(phases).toEqual(['swap']);
      expect(allow.status().rollbackCount).toBe(2);
      const deny = engine('swapAsker', { beforeSwap: async () => false });
      await expect(deny.check()).resolves.toEqual({ outcome: 'deferred' });
    });
  });

  describe('when the job reaches the child', () => {
    it('carries the op, the effective source and the device id', async () => {
      await expect(engine('echoJob').check()).resolves.toMatchObject({
        release: { digest: 'device-1234567890', manifestDigest: 'default', version: 'check' },
      });
    });
  });

  describe('when the child starts', () => {
    it('runs with the engine heap sizing (decision 0508)', async () => {
      const result = await engine('heapReporter').check();
      expect(result.release?.digest.split(' ')).toEqual(expect.arrayContaining([...ENGINE_CHILD_V8_FLAGS]));
      // The flag took effect: a default new space starts at 1 MiB semi-spaces, this one at 16 MiB.
      expect(Number(result.release?.manifestDigest)).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    });
  });

  describe('when the engine fails', () => {
    it('throws the MinerhaulError with its code and details', async () => {
      await expect(engine('failing').check()).rejects.toMatchObject({
        code: 'E_INCOMPATIBLE',
        details: { minAgentVersion: '9.0.0' },
      });
    });

    it('throws E_RUNTIME when the child ends without an answer', async () => {
      await expect(engine('silent').check()).rejects.toMatchObject({ code: 'E_RUNTIME' });
    });

    it('throws E_RUNTIME when the child entry is missing', async () => {
      const missing = new ChildProcessEngine(
        config,
        source,
        { deviceId: 'd', admit: () => true, beforeSwap: async () => true, onEvent: () => undefined },
        join(tmp.path, 'nope.js'),
      );
      await expect(missing.start()).rejects.toMatchObject({ code: 'E_RUNTIME' });
    });
  });
});
