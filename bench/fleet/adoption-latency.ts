// Benchmark: GET /v1/adoption latency with 1,000,000 devices and 30 days of hourly history, on
// SQLite and PostgreSQL. The data is generated inside the database (one INSERT … SELECT over a
// generated series) rather than through HTTP; then the real server answers real requests.
//   node -r ./bench/ts-register.js bench/fleet/adoption-latency.ts [devices] [requests]
// Bounded: at most 2,000,000 devices and 500 requests per store.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SERVER_OPTIONS, type FleetStore, createFleetServer, openStore } from '@minerhaul/fleet';
import type { PostgresStore } from '../../fleet/src/postgres-store';
import type { SqliteStore } from '../../fleet/src/sqlite-store';
import { startPostgres } from '../../test/support/postgres';
import { makeTmpDir } from '../../test/support/tmp-dir';

const DEVICES = Math.min(Number(process.argv[2] ?? 1_000_000), 2_000_000);
const REQUESTS = Math.min(Number(process.argv[3] ?? 100), 500);
const HOUR = 3600_000;
const DAYS = 30;
const TOKEN = 'bench-admin-token-0123456789';
const NOW = Date.now();
const VERSIONS = ['1.4.0', '1.3.2', '1.3.0', '1.2.0', '1.1.0'];

/**
 * One device per i: 55/25/10/5/5 % over five versions, every tenth on a custom source, 2 % failing,
 * 1 % rolled back, 2 % updating, 4 % silent (last seen 8 h to 30 days ago), the rest seen within the last hour (one report
 * interval).
 * Deterministic arithmetic on i, so both databases hold the same fleet.
 */
export function devicesSql(dialect: 'sqlite' | 'postgres'): string {
  const hex = dialect === 'sqlite' ? "printf('%012x', i)" : "lpad(to_hex(i), 12, '0')";
  const div = (a: string, b: number): string => (dialect === 'sqlite' ? `(${a} / ${b})` : `div(${a}, ${b})`);
  const series =
    dialect === 'sqlite'
      ? `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${DEVICES - 1})`
      : `WITH s(i) AS (SELECT generate_series(0, ${DEVICES - 1})::bigint)`;
  const status = `CASE WHEN ${div('i', 3)} % 100 < 2 THEN 'failing' WHEN ${div('i', 3)} % 100 < 3 THEN 'rolled-back'
    WHEN ${div('i', 3)} % 100 < 5 THEN 'updating' ELSE 'ok' END`;
  const silent = `${div('i', 11)} % 100 < 4`;
  return `${series}
    INSERT INTO devices (device_id, public_key, registered_at, last_seen, last_seq, sent_at, agent_version,
      source_kind, source_ref, version, current_digest, current_sequence, previous_version, previous_digest,
      previous_sequence, phase, last_check_at, last_error, rollback_count, status)
    SELECT 'dev-' || ${hex}, 'key-' || ${hex}, ${NOW - DAYS * 24 * HOUR},
      CASE WHEN ${silent} THEN ${NOW - 8 * HOUR} - (i * 7919) % ${(DAYS - 1) * 24 * HOUR} ELSE ${NOW} - (i * 7919) % ${HOUR} END,
      100, ${NOW}, '0.1.0',
      CASE WHEN ${div('i', 7)} % 10 = 0 THEN 'custom' ELSE 'default' END,
      'registry.example/miner:stable',
      CASE WHEN i % 100 < 55 THEN '1.4.0' WHEN i % 100 < 80 THEN '1.3.2' WHEN i % 100 < 90 THEN '1.3.0'
        WHEN i % 100 < 95 THEN '1.2.0' ELSE '1.1.0' END,
      NULL, NULL, NULL, NULL, NULL,
      CASE WHEN ${div('i', 3)} % 100 < 2 THEN 'failed' WHEN ${div('i', 3)} % 100 < 3 THEN 'rolled-back'
        WHEN ${div('i', 3)} % 100 < 5 THEN 'downloading' ELSE 'idle' END,
      ${NOW}, CASE WHEN ${div('i', 3)} % 100 < 2 THEN 'E_REGISTRY' WHEN ${div('i', 3)} % 100 < 3 THEN 'E_HEALTH' ELSE NULL END,
      0, ${status}
    FROM s`;
}

// The rollups the server keeps up to date on every batch, built here in one pass.
const ROLLUP_SQL = [
  `INSERT INTO adoption_counters (version, source_kind, status, devices)
   SELECT version, source_kind, status, COUNT(*) FROM devices GROUP BY version, source_kind, status`,
  'INSERT INTO last_seen_rollup (minute, devices) SELECT last_seen / 60000, COUNT(*) FROM devices GROUP BY last_seen / 60000',
];

/** 30 days of hourly snapshots: each newer version spreads along a logistic curve. */
function historyRows(): Array<[number, string, string, number]> {
  const rows: Array<[number, string, string, number]> = [];
  const first = Math.floor(NOW / HOUR) * HOUR - (DAYS * 24 - 1) * HOUR;
  for (let h = 0; h < DAYS * 24; h++) {
    const t = h / (DAYS * 24);
    const shares = VERSIONS.map((_, v) => 1 / (1 + Math.exp(-14 * (t - (1 - v * 0.2)))));
    let left = DEVICES;
    VERSIONS.forEach((version, v) => {
      const n = v === VERSIONS.length - 1 ? left : Math.round(left * (shares[v] ?? 0));
      left -= n;
      rows.push([first + h * HOUR, version, 'default', Math.round(n * 0.9)]);
      rows.push([first + h * HOUR, version, 'custom', n - Math.round(n * 0.9)]);
    });
  }
  return rows;
}

export async function load(store: FleetStore): Promise<number> {
  const t0 = performance.now();
  const history = historyRows();
  if (store.dialect === 'sqlite') {
    const db = (store as SqliteStore).connection;
    db.transaction(() => {
      db.exec(devicesSql('sqlite'));
      for (const sql of ROLLUP_SQL) db.exec(sql);
      const ins = db.prepare(
        'INSERT INTO adoption_history (bucket, version, source_kind, devices) VALUES (?, ?, ?, ?)',
      );
      for (const r of history) ins.run(...r);
    })();
    db.exec('ANALYZE');
  } else {
    const pool = (store as PostgresStore).pool;
    await pool.query(devicesSql('postgres'));
    for (const sql of ROLLUP_SQL) await pool.query(sql);
    await pool.query(
      `INSERT INTO adoption_history (bucket, version, source_kind, devices)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])`,
      [
        history.map((r) => r[0]),
        history.map((r) => r[1]),
        history.map((r) => r[2]),
        history.map((r) => r[3]),
      ],
    );
    await pool.query('VACUUM ANALYZE');
  }
  return (performance.now() - t0) / 1000;
}

async function measure(label: string, store: FleetStore): Promise<Record<string, number | string>> {
  await store.migrate();
  const loadSeconds = await load(store);
  const fleet = createFleetServer({
    ...DEFAULT_SERVER_OPTIONS,
    batch: { ...DEFAULT_SERVER_OPTIONS.batch },
    store,
    adminToken: TOKEN,
  });
  const url = await fleet.listen('127.0.0.1', 0);
  try {
    const times: number[] = [];
    let devices = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const t = performance.now();
      const res = await fetch(`${url}/v1/adoption`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as { totals: { devices: number } };
      times.push(performance.now() - t);
      devices = body.totals.devices;
    }
    if (devices !== DEVICES)
      throw new Error(`${label}: expected ${DEVICES} devices, the API says ${devices}`);
    times.sort((a, b) => a - b);
    const at = (p: number): number => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN;
    return { label, devices, loadSeconds, requests: REQUESTS, p50: at(0.5), p95: at(0.95), max: at(1) };
  } finally {
    await fleet.close();
  }
}

async function main(): Promise<void> {
  const tmp = makeTmpDir('minerhaul-bench-adoption-');
  const pg = await startPostgres();
  try {
    const results = [
      await measure('sqlite', openStore(`sqlite:${join(tmp.path, 'fleet.db')}`)),
      await measure('postgres', openStore(pg.createDatabase('fleet_adoption'))),
    ];
    for (const r of results) {
      console.log(
        `${r.label}: ${r.devices} devices (loaded in ${Number(r.loadSeconds).toFixed(1)} s), ${r.requests} requests: ` +
          `p50 ${Number(r.p50).toFixed(1)} ms, p95 ${Number(r.p95).toFixed(1)} ms, max ${Number(r.max).toFixed(1)} ms`,
      );
    }
    const dir = join(__dirname, '..', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'fleet-adoption-latency.json'),
      JSON.stringify({ date: new Date().toISOString(), results }, null, 2),
    );
  } finally {
    pg.stop();
    tmp.cleanup();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
