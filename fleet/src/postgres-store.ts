import { Pool, type PoolClient } from 'pg';
import type { AdoptionData, AdoptionQuery, CounterRow, FleetStore, IngestOptions } from './fleet-store';
import { type DeviceRow, type IngestOutcome, type VerifiedReport, minuteOf, planIngest } from './ingest-plan';
import { DEVICE_COLUMNS, MIGRATIONS } from './migrations';
import {
  COLUMN_NAMES,
  SUMMARY_COLUMNS,
  UPSERT_SET,
  counterFromRow,
  deviceFromRow,
  historyFromRow,
  summaryFromRow,
} from './store-rows';

type Row = Record<string, unknown>;

// Any constant: every server writing to this database takes it, so concurrent batches (several
// fleet servers behind a load balancer) decide against each other's committed state.
const INGEST_LOCK = 0x6d696e6572;
const MIGRATE_LOCK = INGEST_LOCK + 1;

const BIGINT_COLUMNS = new Set<string>([
  'registered_at',
  'last_seen',
  'last_seq',
  'sent_at',
  'current_sequence',
  'previous_sequence',
  'last_check_at',
  'rollback_count',
]);

// One array parameter per column, expanded by unnest(): a whole batch in one statement and one
// round trip instead of one INSERT per device.
const UPSERT_SQL = `INSERT INTO devices (${COLUMN_NAMES.join(', ')})
  SELECT * FROM unnest(${COLUMN_NAMES.map((c, i) => `$${i + 1}::${BIGINT_COLUMNS.has(c) ? 'bigint' : 'text'}[]`).join(', ')})
  ON CONFLICT (device_id) DO UPDATE SET ${UPSERT_SET}`;

/** The store for fleets that outgrow one machine; same schema and decisions as SqliteStore. */
export class PostgresStore implements FleetStore {
  readonly dialect = 'postgres' as const;
  readonly pool: Pool;

  constructor(connectionString: string, options: { max?: number } = {}) {
    this.pool = new Pool({ connectionString, max: options.max ?? 4 });
    // An idle client losing its connection (database restart) must not crash the server: pg
    // emits it here, and the next query on a fresh client fails or succeeds on its own.
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<number> {
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const { rows } = await c.query<Row>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((r) => Number(r.version)));
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        for (const s of m.statements) await c.query(s);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
      }
      const v = await c.query<Row>('SELECT MAX(version) AS v FROM schema_migrations');
      return Number(v.rows[0]?.v);
    });
  }

  async ingest(batch: readonly VerifiedReport[], options: IngestOptions): Promise<IngestOutcome[]> {
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [INGEST_LOCK]);
      const ids = [...new Set(batch.map((b) => b.deviceId))];
      const { rows } = await c.query<Row>('SELECT * FROM devices WHERE device_id = ANY($1::text[])', [ids]);
      const existing = new Map<string, DeviceRow>(rows.map((r) => [String(r.device_id), deviceFromRow(r)]));
      const plan = planIngest(existing, batch);
      if (plan.rows.length > 0) {
        const columns = DEVICE_COLUMNS.map(([field]) => plan.rows.map((row) => row[field]));
        await c.query(UPSERT_SQL, columns);
      }
      if (plan.deltas.length > 0) {
        await c.query(
          `INSERT INTO adoption_counters (version, source_kind, status, devices)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
           ON CONFLICT (version, source_kind, status) DO UPDATE SET devices = adoption_counters.devices + excluded.devices`,
          [
            plan.deltas.map((d) => d.version),
            plan.deltas.map((d) => d.sourceKind),
            plan.deltas.map((d) => d.status),
            plan.deltas.map((d) => d.delta),
          ],
        );
      }
      if (plan.seenDeltas.length > 0) {
        await c.query(
          `INSERT INTO last_seen_rollup (minute, devices)
           SELECT * FROM unnest($1::bigint[], $2::bigint[])
           ON CONFLICT (minute) DO UPDATE SET devices = last_seen_rollup.devices + excluded.devices`,
          [plan.seenDeltas.map((d) => d.minute), plan.seenDeltas.map((d) => d.delta)],
        );
      }
      if (plan.rows.length > 0) {
        await c.query(
          `INSERT INTO adoption_history (bucket, version, source_kind, devices)
           SELECT $1::bigint, version, source_kind, SUM(devices) FROM adoption_counters GROUP BY version, source_kind
           ON CONFLICT (bucket, version, source_kind) DO UPDATE SET devices = excluded.devices`,
          [options.bucket],
        );
      }
      return plan.outcomes;
    });
  }

  async adoption(q: AdoptionQuery): Promise<AdoptionData> {
    // One snapshot for every part of the answer (REPEATABLE READ), so counts and lists agree.
    return this.transaction(async (c) => {
      const counters = await this.countersWith(c);
      const history = await c.query<Row>(
        `SELECT bucket, version, source_kind, devices FROM adoption_history
         WHERE bucket >= COALESCE((SELECT MAX(bucket) FROM adoption_history WHERE bucket <= $1), $1) ORDER BY bucket`,
        [q.since],
      );
      const silentCount = await this.countSilentWith(c, q.silentBefore);
      const list = async (status: string): Promise<AdoptionData['failing']> =>
        (
          await c.query<Row>(
            `SELECT ${SUMMARY_COLUMNS} FROM devices WHERE status = $1 AND last_seen >= $2 ORDER BY last_seen DESC LIMIT $3`,
            [status, q.silentBefore, q.listLimit],
          )
        ).rows.map(summaryFromRow);
      const failing = await list('failing');
      const rolledBack = await list('rolled-back');
      const silent = (
        await c.query<Row>(
          `SELECT ${SUMMARY_COLUMNS} FROM devices WHERE last_seen < $1 ORDER BY last_seen DESC LIMIT $2`,
          [q.silentBefore, q.listLimit],
        )
      ).rows.map(summaryFromRow);
      return {
        counters,
        history: history.rows.map(historyFromRow),
        silentCount,
        failing,
        rolledBack,
        silent,
      };
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async counters(): Promise<CounterRow[]> {
    return this.countersWith(this.pool);
  }

  private async countersWith(c: Pool | PoolClient): Promise<CounterRow[]> {
    const { rows } = await c.query<Row>(
      'SELECT version, source_kind, status, devices FROM adoption_counters WHERE devices <> 0',
    );
    return rows.map(counterFromRow);
  }

  async countSilent(silentBefore: number): Promise<number> {
    return this.countSilentWith(this.pool, silentBefore);
  }

  private async countSilentWith(c: Pool | PoolClient, silentBefore: number): Promise<number> {
    const { rows } = await c.query<Row>('SELECT COUNT(*) AS n FROM devices WHERE last_seen < $1', [
      silentBefore,
    ]);
    return Number(rows[0]?.n ?? 0);
  }

  async getDevice(deviceId: string): Promise<DeviceRow | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM devices WHERE device_id = $1', [deviceId]);
    return rows[0] === undefined ? undefined : deviceFromRow(rows[0]);
  }

  async deleteDevice(deviceId: string): Promise<boolean> {
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [INGEST_LOCK]);
      const { rows } = await c.query<Row>('DELETE FROM devices WHERE device_id = $1 RETURNING *', [deviceId]);
      if (rows[0] === undefined) return false;
      const d = deviceFromRow(rows[0]);
      await c.query(
        'UPDATE adoption_counters SET devices = devices - 1 WHERE version = $1 AND source_kind = $2 AND status = $3',
        [d.version, d.sourceKind, d.status],
      );
      await c.query('UPDATE last_seen_rollup SET devices = devices - 1 WHERE minute = $1', [
        minuteOf(d.lastSeen),
      ]);
      return true;
    });
  }

  async prune(before: number): Promise<{ devices: number; history: number }> {
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [INGEST_LOCK]);
      await c.query(
        `UPDATE adoption_counters a SET devices = a.devices - g.n
         FROM (SELECT version, source_kind, status, COUNT(*) AS n FROM devices WHERE last_seen < $1
               GROUP BY version, source_kind, status) g
         WHERE a.version = g.version AND a.source_kind = g.source_kind AND a.status = g.status`,
        [before],
      );
      await c.query(
        `UPDATE last_seen_rollup r SET devices = r.devices - g.n
         FROM (SELECT last_seen / 60000 AS m, COUNT(*) AS n FROM devices WHERE last_seen < $1 GROUP BY last_seen / 60000) g
         WHERE r.minute = g.m`,
        [before],
      );
      await c.query('DELETE FROM last_seen_rollup WHERE devices = 0');
      const devices = await c.query('DELETE FROM devices WHERE last_seen < $1', [before]);
      const history = await c.query('DELETE FROM adoption_history WHERE bucket < $1', [before]);
      return { devices: devices.rowCount ?? 0, history: history.rowCount ?? 0 };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(fn: (c: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query(begin);
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}
