import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UpdateLock } from '@minerhaul/hotspot-agent';
import { makeTmpDir } from '../../test/support/tmp-dir';

describe('UpdateLock', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  const lockPath = (): string => join(tmp.path, `update-${n++}.lock`);

  describe('when no lock file exists', () => {
    it('returns free', async () => {
      const lock = new UpdateLock({ path: lockPath(), maxDeferMs: 60_000, now: () => Date.now() });
      expect(await lock.inspect()).toEqual({ state: 'free' });
    });
  });

  describe('when a live process holds it', () => {
    it('returns held (the update waits)', async () => {
      const path = lockPath();
      writeFileSync(path, String(process.pid));
      const lock = new UpdateLock({ path, maxDeferMs: 60_000, now: () => Date.now() });
      expect(await lock.inspect()).toMatchObject({ state: 'held', holderPid: process.pid });
    });

    it('returns stale once this update has been deferred for maxDefer (never frozen forever)', async () => {
      const path = lockPath();
      writeFileSync(path, JSON.stringify({ pid: process.pid }));
      let now = Date.now();
      const lock = new UpdateLock({ path, maxDeferMs: 60_000, now: () => now });
      expect((await lock.inspect()).state).toBe('held');
      now += 30_000;
      utimesSync(path, new Date(now), new Date(now)); // the miner keeps refreshing it
      expect((await lock.inspect()).state).toBe('held');
      now += 30_000;
      utimesSync(path, new Date(now), new Date(now));
      expect(await lock.inspect()).toEqual({ state: 'stale', reason: 'deferred-too-long' });
    });
  });

  describe('when the holder is gone', () => {
    it('returns stale at once', async () => {
      const path = lockPath();
      writeFileSync(path, '424242');
      const lock = new UpdateLock({ path, maxDeferMs: 60_000, now: () => Date.now(), isAlive: () => false });
      expect(await lock.inspect()).toEqual({ state: 'stale', reason: 'holder-gone' });
    });
  });

  describe('when the lock file is older than maxDefer', () => {
    it('returns stale', async () => {
      const path = lockPath();
      writeFileSync(path, '');
      const old = new Date(Date.now() - 120_000);
      utimesSync(path, old, old);
      const lock = new UpdateLock({ path, maxDeferMs: 60_000, now: () => Date.now() });
      expect(await lock.inspect()).toEqual({ state: 'stale', reason: 'too-old' });
    });
  });

  describe('when the file holds no pid', () => {
    it('returns held while it is fresh', async () => {
      const path = lockPath();
      writeFileSync(path, 'busy writing the ledger\n');
      const lock = new UpdateLock({ path, maxDeferMs: 60_000, now: () => Date.now() });
      const verdict = await lock.inspect();
      expect(verdict.state).toBe('held');
      expect(verdict).not.toHaveProperty('holderPid');
    });
  });
});
