import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type FleetStore, openStore } from '@minerhaul/fleet';
import { type TestPostgres, startPostgres } from '../../../test/support/postgres';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import type { VerifiedReport } from '../../src/ingest-plan';
import { MIGRATIONS } from '../../src/migrations';
import { makeReport, release } from '../report-fixtures';

const T0 = Date.parse('2026-05-01T00:00:00Z');
const HOUR = 3600_000;

function item(
  deviceId: string,
  seq: number,
  at: number,
  overrides = {},
  key = `key-${deviceId}`,
): VerifiedReport {
  return {
    deviceId,
    publicKey: key,
    receivedAt: at,
    report: makeReport(deviceId, { seq, ...overrides }, at),
  };
}

const tmp = makeTmpDir('minerhaul-fleet-store-');
let pg: TestPostgres;
let dbCounter = 0;

beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);

afterAll(() => {
  pg?.stop();
  tmp.cleanup();
});

// The same behaviour, asserted on both stores: the SQLite file and a real PostgreSQL.
describe.each([
  ['sqlite', () => openStore(`sqlite:${join(tmp.path, `fleet-${++dbCounter}.db`)}`)],
  ['postgres', () => openStore(pg.createDatabase(`fleet_${++dbCounter}`))],
])('FleetStore on %s', (_dialect, open) => {
  let store: FleetStore;

  beforeEach(async () => {
    store = open();
    await store.migrate();
  });

  afterEach(async () => {
    await store.close();
  });

  describe('migrations', () => {
    it('reach the latest version and are idempotent', async () => {
      const latest = Math.max(...MIGRATIONS.map((m) => m.version));
      expect(await store.migrate()).toBe(latest);
      expect(await store.migrate()).toBe(latest);
    });
  });

  describe('when reports arrive', () => {
    it('registers devices, keeps the latest state and counts them by version and source', async () => {
      const out = await store.ingest(
        [
          item('dev-aaaaaaaa', 1, T0),
          item('dev-bbbbbbbb', 1, T0, { source: { kind: 'custom', ref: 'oci-layout:/usb:stable' } }),
          item('dev-aaaaaaaa', 2, T0 + 10, { current: release('2.0.0', 2), previous: release('1.0.0', 1) }),
        ],
        { bucket: T0 },
      );
      expect(out).toEqual([{ accepted: true }, { accepted: true }, { accepted: true }]);
      const counters = await store.counters();
      expect(counters).toEqual(
        expect.arrayContaining([
          { version: '2.0.0', sourceKind: 'default', status: 'ok', devices: 1 },
          { version: '1.0.0', sourceKind: 'custom', status: 'ok', devices: 1 },
        ]),
      );
      expect(counters).toHaveLength(2);
      const a = await store.getDevice('dev-aaaaaaaa');
      expect(a).toMatchObject({
        lastSeq: 2,
        version: '2.0.0',
        previousVersion: '1.0.0',
        registeredAt: T0,
        lastSeen: T0 + 10,
      });
    });

    it('refuses a replay and a key change and changes nothing for them', async () => {
      await store.ingest([item('dev-aaaaaaaa', 5, T0)], { bucket: T0 });
      const before = await store.getDevice('dev-aaaaaaaa');
      const out = await store.ingest(
        [
          item('dev-aaaaaaaa', 5, T0 + 1, { phase: 'failed', lastError: 'E_TLS' }),
          item('dev-aaaaaaaa', 4, T0 + 2, { phase: 'failed', lastError: 'E_TLS' }),
          item('dev-aaaaaaaa', 6, T0 + 3, { phase: 'failed', lastError: 'E_TLS' }, 'another-key'),
        ],
        { bucket: T0 },
      );
      expect(out).toEqual([
        { accepted: false, reason: 'replayed' },
        { accepted: false, reason: 'replayed' },
        { accepted: false, reason: 'key-changed' },
      ]);
      expect(await store.getDevice('dev-aaaaaaaa')).toEqual(before);
      expect(await store.counters()).toEqual([
        { version: '1.0.0', sourceKind: 'default', status: 'ok', devices: 1 },
      ]);
    });
  });

  describe('when an admin forgets a device', () => {
    it('deletes it with its key binding and takes it out of every count', async () => {
      await store.ingest([item('dev-aaaaaaaa', 3, T0), item('dev-bbbbbbbb', 1, T0)], { bucket: T0 });
      expect(await store.deleteDevice('dev-aaaaaaaa')).toBe(true);
      expect(await store.deleteDevice('dev-aaaaaaaa')).toBe(false);
      expect(await store.counters()).toEqual([
        { version: '1.0.0', sourceKind: 'default', status: 'ok', devices: 1 },
      ]);
      expect(await store.countSilent(T0 + HOUR)).toBe(1);
      const out = await store.ingest([item('dev-aaaaaaaa', 1, T0 + 1, {}, 'new-key')], { bucket: T0 });
      expect(out).toEqual([{ accepted: true }]);
      expect((await store.getDevice('dev-aaaaaaaa'))?.publicKey).toBe('new-key');
    });
  });

  describe('silent devices', () => {
    it('counts devices whose last report is older than the limit, at minute resolution', async () => {
      await store.ingest([item('dev-aaaaaaaa', 1, T0), item('dev-bbbbbbbb', 1, T0 + 10 * 60_000)], {
        bucket: T0,
      });
      expect(await store.countSilent(T0)).toBe(0);
      expect(await store.countSilent(T0 + 60_000)).toBe(1);
      expect(await store.countSilent(T0 + 11 * 60_000)).toBe(2);
      // A device that reports again leaves its old minute.
      await store.ingest([item('dev-aaaaaaaa', 2, T0 + 20 * 60_000)], { bucket: T0 });
      expect(await store.countSilent(T0 + 11 * 60_000)).toBe(1);
    });
  });

  describe('adoption rollups', () => {
    it('snapshots counters per bucket and lists failing, rolled back and silent devices', async () => {
      await store.ingest(
        [item('dev-aaaaaaaa', 1, T0), item('dev-bbbbbbbb', 1, T0), item('dev-cccccccc', 1, T0)],
        {
          bucket: T0,
        },
      );
      await store.ingest(
        [
          item('dev-aaaaaaaa', 2, T0 + 3 * HOUR, { current: release('2.0.0', 2), phase: 'committed' }),
          item('dev-bbbbbbbb', 2, T0 + 3 * HOUR, {
            phase: 'rolled-back',
            lastError: 'E_HEALTH',
            rollbackCount: 1,
          }),
        ],
        { bucket: T0 + 3 * HOUR },
      );
      const data = await store.adoption({ silentBefore: T0 + HOUR, since: T0, listLimit: 10 });
      expect(data.history).toEqual(
        expect.arrayContaining([
          { bucket: T0, version: '1.0.0', sourceKind: 'default', devices: 3 },
          { bucket: T0 + 3 * HOUR, version: '1.0.0', sourceKind: 'default', devices: 2 },
          { bucket: T0 + 3 * HOUR, version: '2.0.0', sourceKind: 'default', devices: 1 },
        ]),
      );
      expect(data.silentCount).toBe(1);
      expect(data.silent.map((d) => d.deviceId)).toEqual(['dev-cccccccc']);
      expect(data.rolledBack.map((d) => d.deviceId)).toEqual(['dev-bbbbbbbb']);
      expect(data.failing).toEqual([]);
    });

    it('prunes devices silent and history older than the retention limit, counters included', async () => {
      await store.ingest([item('dev-aaaaaaaa', 1, T0), item('dev-bbbbbbbb', 1, T0)], { bucket: T0 });
      await store.ingest([item('dev-aaaaaaaa', 2, T0 + 5 * HOUR)], { bucket: T0 + 5 * HOUR });
      expect(await store.prune(T0 + HOUR)).toEqual({ devices: 1, history: 1 });
      expect(await store.getDevice('dev-bbbbbbbb')).toBeUndefined();
      expect(await store.counters()).toEqual([
        { version: '1.0.0', sourceKind: 'default', status: 'ok', devices: 1 },
      ]);
      const data = await store.adoption({ silentBefore: 0, since: 0, listLimit: 10 });
      expect(data.history.map((h) => h.bucket)).toEqual([T0 + 5 * HOUR]);
    });
  });
});

describe('two servers sharing one PostgreSQL', () => {
  it('decide concurrent batches against each other and keep the counters exact', async () => {
    const url = pg.createDatabase(`fleet_${++dbCounter}`);
    const a = openStore(url);
    const b = openStore(url);
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      // The same 50 new devices reach both servers at once, some with the same seq.
      const batch = (seqBase: number): VerifiedReport[] =>
        Array.from({ length: 50 }, (_, i) =>
          item(`dev-${String(i).padStart(8, '0')}`, seqBase + (i % 2), T0),
        );
      const [ra, rb] = await Promise.all([
        a.ingest(batch(1), { bucket: T0 }),
        b.ingest(batch(1), { bucket: T0 }),
      ]);
      const accepted = [...ra, ...rb].filter((o) => o.accepted).length;
      expect(accepted).toBe(50);
      const counters = await a.counters();
      expect(counters).toEqual([{ version: '1.0.0', sourceKind: 'default', status: 'ok', devices: 50 }]);
      expect(await a.countSilent(T0 + HOUR)).toBe(50);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('openStore', () => {
  it.each(['mysql://db/fleet', 'sqlite:', 'http://x/y'])('refuses %s with E_CONFIG', (url) => {
    expect(() => openStore(url)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});

describe('migration 2 on a database holding devices', () => {
  it('backfills the last-seen rollup from the devices table', async () => {
    const path = join(tmp.path, 'v1.db');
    const db = new Database(path);
    const v1 = MIGRATIONS.find((m) => m.version === 1);
    db.exec(
      'CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    for (const s of v1?.statements ?? []) db.exec(s);
    db.prepare('INSERT INTO schema_migrations VALUES (1, ?, 0)').run(v1?.name);
    db.close();
    // A v1 server stored two devices; v2 must count them as silent without any new report.
    const first = openStore(`sqlite:${path}`);
    await first.migrate();
    await first.ingest([item('dev-aaaaaaaa', 1, T0), item('dev-bbbbbbbb', 1, T0)], { bucket: T0 });
    await first.close();
    const raw = new Database(path);
    raw.exec(
      'DELETE FROM last_seen_rollup; DELETE FROM schema_migrations WHERE version = 2; DROP TABLE last_seen_rollup',
    );
    raw.close();
    const store = openStore(`sqlite:${path}`);
    try {
      expect(await store.migrate()).toBe(2);
      expect(await store.countSilent(T0 + HOUR)).toBe(2);
    } finally {
      await store.close();
    }
  });
});
