import type { AdoptionReport } from '@minerhaul/fleet';
import { MinerhaulError } from '@minerhaul/signing';
import { fetchBounded } from './bounded-wait';

/** GET /v1/adoption with the admin token (docs/fleet-admin-guide.md "JSON API"). */
export async function fetchAdoption(fleetUrl: string, adminToken: string): Promise<AdoptionReport> {
  const res = await fetchBounded(`${fleetUrl}/v1/adoption`, {
    headers: { authorization: `Bearer ${adminToken}` },
    timeoutMs: 5_000,
  });
  if (res.status === 401 || res.status === 403) {
    throw new MinerhaulError('E_AUTH', `GET /v1/adoption refused the admin token (HTTP ${res.status})`);
  }
  if (!res.ok) throw new MinerhaulError('E_RUNTIME', `GET /v1/adoption answered HTTP ${res.status}`);
  return (await res.json()) as AdoptionReport;
}

const COLUMNS = [
  ['version', 'VERSION'],
  ['devices', 'DEVICES'],
  ['default', 'DEFAULT'],
  ['custom', 'CUSTOM'],
  ['ok', 'OK'],
  ['updating', 'UPDATING'],
  ['failing', 'FAILING'],
  ['rolledBack', 'ROLLED BACK'],
] as const;

/** The adoption table as text: one row per version, totals, then the devices that need a look. */
export function formatAdoptionTable(report: AdoptionReport): string {
  const rows: string[][] = [
    COLUMNS.map(([, title]) => title),
    ...report.byVersion.map((v) => COLUMNS.map(([key]) => String(v[key]))),
    [
      'total',
      String(report.totals.devices),
      String(report.bySource.default),
      String(report.bySource.custom),
      String(report.totals.ok),
      String(report.totals.updating),
      String(report.totals.failing),
      String(report.totals.rolledBack),
    ],
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = rows.map(line);
  out.splice(rows.length - 1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const attention = [...report.failing, ...report.rolledBack];
  for (const d of attention) {
    out.push(
      `device ${d.deviceId} (${d.sourceKind} source): ${d.version ?? '(none)'}, ${d.status}, ` +
        `${d.rollbackCount} rollback(s), last error ${d.lastError ?? 'none'}`,
    );
  }
  if (report.totals.silent > 0) out.push(`${report.totals.silent} silent device(s)`);
  return out.join('\n');
}
