import type { FleetStore, IngestOptions } from '../src/fleet-store';
import type { IngestOutcome, VerifiedReport } from '../src/ingest-plan';
import { WriteQueue } from '../src/write-queue';
import { makeReport } from './report-fixtures';

/** A store that records the batches it is given; the queue is what is under test. */
function recordingStore(fail = false): {
  store: FleetStore;
  batches: Array<{ size: number; bucket: number }>;
} {
  const batches: Array<{ size: number; bucket: number }> = [];
  const store = {
    async ingest(batch: readonly VerifiedReport[], o: IngestOptions): Promise<IngestOutcome[]> {
      batches.push({ size: batch.length, bucket: o.bucket });
      if (fail) throw new Error('disk full');
      return batch.map((b) =>
        b.report.seq % 2 === 0 ? { accepted: true } : { accepted: false, reason: 'replayed' },
      );
    },
  } as unknown as FleetStore;
  return { store, batches };
}

const item = (seq: number): VerifiedReport => ({
  deviceId: 'dev-aaaaaaaa',
  publicKey: 'k',
  receivedAt: 0,
  report: makeReport('dev-aaaaaaaa', { seq }),
});

describe('WriteQueue', () => {
  describe('when reports arrive together', () => {
    it('writes them in batches of at most maxBatch and answers each with its own outcome', async () => {
      const { store, batches } = recordingStore();
      const q = new WriteQueue(store, {
        maxBatch: 4,
        maxDelayMs: 50,
        now: () => 7_200_123,
        bucketOf: (t) => t - (t % 3600_000),
      });
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => q.submit(item(i + 1))));
      expect(outcomes.map((o) => o.accepted)).toEqual([
        false,
        true,
        false,
        true,
        false,
        true,
        false,
        true,
        false,
        true,
      ]);
      expect(batches.map((b) => b.size)).toEqual([4, 4, 2]);
      expect(batches.every((b) => b.bucket === 7_200_000)).toBe(true);
      await q.close();
    });

    it('flushes a lone report after maxDelayMs', async () => {
      const { store, batches } = recordingStore();
      const q = new WriteQueue(store, { maxBatch: 100, maxDelayMs: 5, now: () => 0, bucketOf: () => 0 });
      await expect(q.submit(item(2))).resolves.toEqual({ accepted: true });
      expect(batches).toEqual([{ size: 1, bucket: 0 }]);
      await q.close();
    });
  });

  describe('when the store fails', () => {
    it('rejects every report of the batch', async () => {
      const { store } = recordingStore(true);
      const q = new WriteQueue(store, { maxBatch: 2, maxDelayMs: 5, now: () => 0, bucketOf: () => 0 });
      const results = await Promise.allSettled([q.submit(item(2)), q.submit(item(4))]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      await q.close();
    });
  });

  describe('when closed', () => {
    it('writes what waits, then refuses new reports', async () => {
      const { store, batches } = recordingStore();
      const q = new WriteQueue(store, { maxBatch: 100, maxDelayMs: 10_000, now: () => 0, bucketOf: () => 0 });
      const pending = q.submit(item(2));
      await q.close();
      await expect(pending).resolves.toEqual({ accepted: true });
      expect(batches).toHaveLength(1);
      await expect(q.submit(item(4))).rejects.toThrow(/closed/);
    });
  });
});
