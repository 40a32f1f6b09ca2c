import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Journal, UpdateEngine, type EngineEvent } from '@minerhaul/updater';
import { MinerhaulError } from '@minerhaul/signing';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { FakeWorld, fakeRelease } from './engine-fakes';

describe('UpdateEngine', () => {
  let tmp: { path: string; cleanup: () => void };
  let world: FakeWorld;
  beforeEach(() => {
    tmp = makeTmpDir('engine-');
    world = new FakeWorld();
  });
  afterEach(() => tmp.cleanup());

  const engine = (extra = {}): UpdateEngine => new UpdateEngine(world.options(tmp.path, extra));
  const v1 = fakeRelease('1.0.0', 1);
  const v2 = fakeRelease('2.0.0', 2);

  async function installV1(): Promise<UpdateEngine> {
    world.publish(v1);
    const e = engine();
    await e.check();
    world.calls.length = 0;
    return e;
  }

  describe('when nothing is installed', () => {
    it('returns updated after resolve, verify, stage, swap, health, commit and gc, in that order', async () => {
      world.publish(v1);
      const result = await engine().check();
      expect(result).toEqual({ outcome: 'updated', release: expect.objectContaining({ version: '1.0.0' }) });
      expect(world.calls).toEqual([
        'resolve stable',
        `verify ${v1.digest}`,
        `select ${v1.digest}`,
        'stage 1.0.0',
        'prepare 1.0.0',
        'activate 1.0.0',
        'health 1.0.0',
        'commit 1.0.0',
        'gc 1.0.0',
      ]);
      expect(world.running).toBe('1.0.0');
    });

    it('refuses a missing tag with E_NOT_FOUND and records it for status', async () => {
      const e = engine();
      await expect(e.check()).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
      expect(e.status()).toMatchObject({
        lastErrorCode: 'E_NOT_FOUND',
        lastCheck: '2026-01-02T03:04:05.000Z',
      });
    });
  });

  describe('when the tag still points at the installed release', () => {
    it('returns up-to-date after one resolve and nothing else', async () => {
      const e = await installV1();
      await expect(e.check()).resolves.toMatchObject({ outcome: 'up-to-date' });
      expect(world.calls).toEqual(['resolve stable']);
    });
  });

  describe('when a new release is published', () => {
    it('swaps to it, keeps the old one as previous and fetches only the new blobs', async () => {
      const e = await installV1();
      const fetchedBefore = world.fetched.length;
      world.publish(v2);
      await expect(e.check()).resolves.toMatchObject({ outcome: 'updated' });
      expect(world.running).toBe('2.0.0');
      expect(world.fetched.slice(fetchedBefore)).toEqual([v2.blobs[0], v2.blobs[2]]);
      expect(e.status()).toMatchObject({
        phase: 'idle',
        current: { version: '2.0.0', sequence: 2, manifestDigest: v2.manifestDigest },
        previous: { version: '1.0.0' },
        rollbackCount: 0,
      });
      expect(world.calls).toContain('gc 2.0.0,1.0.0');
    });

    it('refuses a bad signature before anything is fetched (E_SIGNATURE)', async () => {
      const e = await installV1();
      world.publish({ ...v2, badSignature: true });
      await expect(e.check()).rejects.toMatchObject({ code: 'E_SIGNATURE' });
      expect(world.calls).toEqual(['resolve stable', `verify ${v2.digest}`]);
      expect(e.status()).toMatchObject({ current: { version: '1.0.0' }, lastErrorCode: 'E_SIGNATURE' });
      expect(new Journal(tmp.path).snapshot().step).toBeUndefined();
    });

    it('refuses a release that needs a newer agent (E_INCOMPATIBLE) before anything is fetched', async () => {
      const e = await installV1();
      world.publish({ ...v2, minAgentVersion: '99.0.0' });
      await expect(e.check()).rejects.toMatchObject({ code: 'E_INCOMPATIBLE' });
      expect(world.calls.some((c) => c.startsWith('select') || c.startsWith('stage'))).toBe(false);
    });

    it('accepts a release whose minAgentVersion this agent meets', async () => {
      const e = await installV1();
      world.publish({ ...v2, minAgentVersion: '0.1.0' });
      await expect(e.check()).resolves.toMatchObject({ outcome: 'updated' });
    });

    it('returns not-in-rollout when admit refuses, without fetching anything', async () => {
      world.publish(v1);
      const e = engine({ admit: () => false });
      await expect(e.check()).resolves.toEqual({ outcome: 'not-in-rollout' });
      expect(world.calls).toEqual(['resolve stable', `verify ${v1.digest}`]);
      expect(world.running).toBeUndefined();
    });

    it('returns deferred when beforeSwap says the miner holds its lock, and discards the staging', async () => {
      await installV1();
      world.publish(v2);
      const e = engine({ beforeSwap: async () => false });
      await expect(e.check()).resolves.toMatchObject({ outcome: 'deferred', release: { version: '1.0.0' } });
      expect(world.running).toBe('1.0.0');
      expect(world.calls).toContain('discard 2.0.0');
      expect(world.calls.some((c) => c.startsWith('activate'))).toBe(false);
    });

    it('adopts a re-pushed index whose platform manifest is unchanged, without a swap', async () => {
      const e = await installV1();
      const repushed = { ...v1, digest: 'sha256:' + 'e'.repeat(64), sequence: 7 };
      world.publish(repushed);
      await expect(e.check()).resolves.toMatchObject({ outcome: 'adopted', release: { sequence: 7 } });
      expect(world.calls.some((c) => c.startsWith('stage') || c.startsWith('activate'))).toBe(false);
      expect(e.status().current?.digest).toBe(repushed.digest);
      await expect(e.check()).resolves.toMatchObject({ outcome: 'up-to-date' });
    });

    it('leaves the running miner alone when staging fails, with the stager error code', async () => {
      const e = await installV1();
      world.publish(v2);
      world.failStage = new MinerhaulError('E_UNSAFE_ARCHIVE', 'hostile entry');
      await expect(e.check()).rejects.toMatchObject({ code: 'E_UNSAFE_ARCHIVE' });
      expect(world.running).toBe('1.0.0');
      expect(world.calls).toContain('discard 2.0.0');
      expect(e.status()).toMatchObject({ current: { version: '1.0.0' }, lastErrorCode: 'E_UNSAFE_ARCHIVE' });
    });

    it('stops before the swap when the signal is aborted', async () => {
      const e = await installV1();
      world.publish(v2);
      const controller = new AbortController();
      controller.abort();
      await expect(e.check(controller.signal)).rejects.toThrow();
      expect(world.running).toBe('1.0.0');
      expect(world.calls.some((c) => c.startsWith('activate'))).toBe(false);
    });
  });

  describe('when the new miner fails its health check', () => {
    it('rolls back to the previous release and reports E_HEALTH', async () => {
      const e = await installV1();
      const v3 = fakeRelease('3.0.0', 3, { healthy: false });
      world.publish(v3);
      const events: EngineEvent[] = [];
      const e2 = engine({ onEvent: (ev: EngineEvent) => events.push(ev) });
      void e;
      await expect(e2.check()).rejects.toMatchObject({ code: 'E_HEALTH' });
      expect(world.running).toBe('1.0.0');
      expect(world.calls.slice(-3)).toEqual(['health 3.0.0', 'ensure 1.0.0', 'discard 3.0.0']);
      expect(e2.status()).toMatchObject({
        current: { version: '1.0.0' },
        rollbackCount: 1,
        lastErrorCode: 'E_HEALTH',
      });
      expect(events).toContainEqual(expect.objectContaining({ type: 'rolled-back', reason: 'E_HEALTH' }));
    });

    it('does not retry the failed release while the tag still names it, and retries once it moves', async () => {
      const e = await installV1();
      world.publish(fakeRelease('3.0.0', 3, { healthy: false }));
      await expect(e.check()).rejects.toMatchObject({ code: 'E_HEALTH' });
      world.calls.length = 0;
      await expect(e.check()).resolves.toMatchObject({
        outcome: 'up-to-date',
        release: { version: '1.0.0' },
      });
      expect(world.calls).toEqual(['resolve stable']);
      expect(e.status()).toMatchObject({
        lastErrorCode: 'E_HEALTH',
        rejected: { version: '3.0.0', reason: 'E_HEALTH' },
      });
      world.publish(fakeRelease('3.0.1', 4));
      await expect(e.check()).resolves.toMatchObject({ outcome: 'updated', release: { version: '3.0.1' } });
      expect(e.status().rejected).toBeUndefined();
      expect(e.status().lastErrorCode).toBeUndefined();
    });

    it('keeps a first install running (the only verified release) and still reports E_HEALTH', async () => {
      world.publish(fakeRelease('1.0.0', 1, { healthy: false }));
      const e = engine();
      await expect(e.check()).rejects.toMatchObject({ code: 'E_HEALTH' });
      expect(world.running).toBe('1.0.0');
      expect(e.status().current?.version).toBe('1.0.0');
    });
  });

  describe('when a sequence lower than the installed one is published', () => {
    it('refuses it with E_ROLLBACK', async () => {
      world.publish(v2);
      const e = engine();
      await e.check();
      world.publish(fakeRelease('1.5.0', 1));
      await expect(e.check()).rejects.toMatchObject({ code: 'E_ROLLBACK' });
      expect(world.running).toBe('2.0.0');
    });
  });

  describe('when the owner switched to another channel or repository', () => {
    it("does not hold the new source to the old source's sequence", async () => {
      world.publish(v2);
      await engine().check();
      world.publish(fakeRelease('1.5.0', 1));
      const switched = engine({ channel: 'beta' });
      await expect(switched.check()).resolves.toMatchObject({ outcome: 'updated', release: { sequence: 1 } });
      expect(world.running).toBe('1.5.0');
    });
  });

  describe('when checks overlap', () => {
    it('returns the same cycle to both callers (never two at once)', async () => {
      world.publish(v1);
      const e = engine();
      const [a, b] = await Promise.all([e.check(), e.check()]);
      expect(a).toBe(b);
      expect(world.calls.filter((c) => c.startsWith('activate'))).toHaveLength(1);
    });
  });

  describe('when restarted after a crash', () => {
    it('rolls back a half-done swap to the previous verified release', async () => {
      const e = await installV1();
      void e;
      const staged = { ...(await stagedFor(world, v2)) };
      const j = new Journal(tmp.path);
      await j.load();
      await j.begin({ name: 'swap', target: staged });
      world.running = '2.0.0';
      world.calls.length = 0;
      const restarted = engine();
      await restarted.start();
      expect(world.running).toBe('1.0.0');
      expect(world.calls).toEqual(['ensure 1.0.0', 'discard 2.0.0']);
      expect(restarted.status()).toMatchObject({ current: { version: '1.0.0' }, rollbackCount: 1 });
      const onDisk = JSON.parse(await readFile(join(tmp.path, 'engine-journal.json'), 'utf8'));
      expect(onDisk.step).toBeUndefined();
    });

    it('finishes an update whose commit was journalled', async () => {
      await installV1();
      const staged = await stagedFor(world, v2);
      const j = new Journal(tmp.path);
      await j.load();
      await j.begin({ name: 'commit', target: staged });
      world.calls.length = 0;
      const restarted = engine();
      await restarted.start();
      expect(world.running).toBe('2.0.0');
      expect(restarted.status()).toMatchObject({
        current: { version: '2.0.0' },
        previous: { version: '1.0.0' },
      });
      expect(world.calls).toEqual(['ensure 2.0.0', 'commit 2.0.0', 'gc 2.0.0,1.0.0']);
    });

    it('does not swap the miner for an adopted digest whose manifest already runs', async () => {
      await installV1();
      world.publish({ ...v1, digest: 'sha256:' + 'e'.repeat(64), sequence: 7 });
      await engine().check();
      world.calls.length = 0;
      await engine().start();
      expect(world.calls).toEqual([]);
      expect(world.running).toBe('1.0.0');
    });

    it('restarts the installed miner when the journal is clean', async () => {
      await installV1();
      world.running = undefined;
      await engine().start();
      expect(world.running).toBe('1.0.0');
    });
  });
});

async function stagedFor(world: FakeWorld, release: ReturnType<typeof fakeRelease>) {
  world.publish(release);
  const [config, ...layers] = release.blobs.map((b) => ({ mediaType: 'x', digest: b, size: 1 }));
  if (config === undefined) throw new Error('no config');
  return world.stager().stage({
    store: world.store(),
    target: { ...release, repository: 'miner', channel: 'stable' },
    manifest: { manifestDigest: release.manifestDigest, config, layers },
  });
}
