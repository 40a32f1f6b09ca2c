import Database from 'better-sqlite3';
import type { AdoptionData, AdoptionQuery, CounterRow, FleetStore, IngestOptions } from './fleet-store';
import { type DeviceRow, type IngestOutcome, type VerifiedReport, minuteOf, planIngest } from './ingest-plan';
import { MIGRATIONS } from './migrations';
import {
  COLUMN_NAMES,
  SUMMARY_COLUMNS,
  UPSERT_SET,
  counterFromRow,
  deviceFromRow,
  deviceValues,
  historyFromRow,
  summaryFromRow,
} from './store-rows';

type Row = Record<string, unknown>;

/**
 * The embedded store: one SQLite file (or ':memory:'). better-sqlite3 is synchronous; the write
 * queue hands it whole batches so one transaction (one fsync in WAL mode) covers many reports.
 */
export class SqliteStore implements FleetStore {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    // WAL: readers (dashboard) never block the writer; NORMAL sync is durable at checkpoints
    // and loses at most the last batches on power loss, never corrupts (sqlite.org/wal.html).
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
  }

  /** The raw connection, for benchmarks that bulk-load data. */
  get connection(): Database.Database {
    return this.db;
  }

  async migrate(): Promise<number> {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r.version)),
    );
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        for (const s of m.statements) this.db.exec(s);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, Date.now());
      })();
    }
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as Row;
    return Number(row.v);
  }

  async ingest(batch: readonly VerifiedReport[], options: IngestOptions): Promise<IngestOutcome[]> {
    return this.db.transaction(() => {
      const ids = [...new Set(batch.map((b) => b.deviceId))];
      const existing = new Map<string, DeviceRow>();
      const rows = this.stmt('SELECT * FROM devices WHERE device_id IN (SELECT value FROM json_each(?))').all(
        JSON.stringify(ids),
      ) as Row[];
      for (const r of rows) existing.set(String(r.device_id), deviceFromRow(r));
      const plan = planIngest(existing, batch);
      const upsert = this.stmt(
        `INSERT INTO devices (${COLUMN_NAMES.join(', ')}) VALUES (${COLUMN_NAMES.map(() => '?').join(', ')})
         ON CONFLICT (device_id) DO UPDATE SET ${UPSERT_SET}`,
      );
      for (const row of plan.rows) upsert.run(...deviceValues(row));
      const count = this.stmt(
        `INSERT INTO adoption_counters (version, source_kind, status, devices) VALUES (?, ?, ?, ?)
         ON CONFLICT (version, source_kind, status) DO UPDATE SET devices = devices + excluded.devices`,
      );
      for (const d of plan.deltas) count.run(d.version, d.sourceKind, d.status, d.delta);
      const seen = this.stmt(
        `INSERT INTO last_seen_rollup (minute, devices) VALUES (?, ?)
         ON CONFLICT (minute) DO UPDATE SET devices = devices + excluded.devices`,
      );
      for (const d of plan.seenDeltas) seen.run(d.minute, d.delta);
      if (plan.rows.length > 0) this.snapshot(options.bucket);
      return plan.outcomes;
    })();
  }

  /** Copies the live counters into the history bucket (overwriting the bucket's earlier copy). */
  private snapshot(bucket: number): void {
    this.stmt(
      `INSERT INTO adoption_history (bucket, version, source_kind, devices)
       SELECT ?, version, source_kind, SUM(devices) FROM adoption_counters WHERE true GROUP BY version, source_kind
       ON CONFLICT (bucket, version, source_kind) DO UPDATE SET devices = excluded.devices`,
    ).run(bucket);
  }

  async adoption(q: AdoptionQuery): Promise<AdoptionData> {
    const read = this.db.transaction(() => ({
      counters: this.countersSync(),
      history: (
        this.stmt(
          // From the last snapshot at or before the window's start: it is the state the window opens with.
          `SELECT bucket, version, source_kind, devices FROM adoption_history
           WHERE bucket >= COALESCE((SELECT MAX(bucket) FROM adoption_history WHERE bucket <= ?), ?) ORDER BY bucket`,
        ).all(q.since, q.since) as Row[]
      ).map(historyFromRow),
      silentCount: this.countSilentSync(q.silentBefore),
      failing: this.listByStatus('failing', q),
      rolledBack: this.listByStatus('rolled-back', q),
      silent: (
        this.stmt(
          `SELECT ${SUMMARY_COLUMNS} FROM devices WHERE last_seen < ? ORDER BY last_seen DESC LIMIT ?`,
        ).all(q.silentBefore, q.listLimit) as Row[]
      ).map(summaryFromRow),
    }));
    return read();
  }

  private listByStatus(status: string, q: AdoptionQuery): AdoptionData['failing'] {
    return (
      this.stmt(
        `SELECT ${SUMMARY_COLUMNS} FROM devices WHERE status = ? AND last_seen >= ? ORDER BY last_seen DESC LIMIT ?`,
      ).all(status, q.silentBefore, q.listLimit) as Row[]
    ).map(summaryFromRow);
  }

  async counters(): Promise<CounterRow[]> {
    return this.countersSync();
  }

  private countersSync(): CounterRow[] {
    return (
      this.stmt(
        'SELECT version, source_kind, status, devices FROM adoption_counters WHERE devices <> 0',
      ).all() as Row[]
    ).map(counterFromRow);
  }

  async countSilent(silentBefore: number): Promise<number> {
    return this.countSilentSync(silentBefore);
  }

  private countSilentSync(silentBefore: number): number {
    // Minute resolution: a device silent for less than a minute past the limit counts next minute.
    const row = this.stmt('SELECT COALESCE(SUM(devices), 0) AS n FROM last_seen_rollup WHERE minute < ?').get(
      minuteOf(silentBefore),
    ) as Row;
    return Number(row.n);
  }

  async getDevice(deviceId: string): Promise<DeviceRow | undefined> {
    const row = this.stmt('SELECT * FROM devices WHERE device_id = ?').get(deviceId) as Row | undefined;
    return row === undefined ? undefined : deviceFromRow(row);
  }

  async deleteDevice(deviceId: string): Promise<boolean> {
    return this.db.transaction(() => {
      const row = this.stmt('SELECT * FROM devices WHERE device_id = ?').get(deviceId) as Row | undefined;
      if (row === undefined) return false;
      const d = deviceFromRow(row);
      this.stmt(
        'UPDATE adoption_counters SET devices = devices - 1 WHERE version = ? AND source_kind = ? AND status = ?',
      ).run(d.version, d.sourceKind, d.status);
      this.stmt('UPDATE last_seen_rollup SET devices = devices - 1 WHERE minute = ?').run(
        minuteOf(d.lastSeen),
      );
      this.stmt('DELETE FROM devices WHERE device_id = ?').run(deviceId);
      return true;
    })();
  }

  async prune(before: number): Promise<{ devices: number; history: number }> {
    return this.db.transaction(() => {
      const gone = this.stmt(
        'SELECT version, source_kind, status, COUNT(*) AS n FROM devices WHERE last_seen < ? GROUP BY version, source_kind, status',
      ).all(before) as Row[];
      const dec = this.stmt(
        'UPDATE adoption_counters SET devices = devices - ? WHERE version = ? AND source_kind = ? AND status = ?',
      );
      for (const g of gone) dec.run(Number(g.n), g.version, g.source_kind, g.status);
      const goneMinutes = this.stmt(
        'SELECT last_seen / 60000 AS m, COUNT(*) AS n FROM devices WHERE last_seen < ? GROUP BY last_seen / 60000',
      ).all(before) as Row[];
      const decSeen = this.stmt('UPDATE last_seen_rollup SET devices = devices - ? WHERE minute = ?');
      for (const g of goneMinutes) decSeen.run(Number(g.n), g.m);
      this.stmt('DELETE FROM last_seen_rollup WHERE devices = 0').run();
      const devices = this.stmt('DELETE FROM devices WHERE last_seen < ?').run(before).changes;
      const history = this.stmt('DELETE FROM adoption_history WHERE bucket < ?').run(before).changes;
      return { devices, history };
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private readonly cache = new Map<string, Database.Statement>();

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }
}
