import type { AdoptionData, DeviceSummary, HistoryRow } from './fleet-store';

export interface AdoptionWindow {
  now: number;
  bucketMs: number;
  /** Points in the time series (the window is bucketMs × points). */
  points: number;
  silentAfterMs: number;
}

export interface VersionCount {
  version: string;
  devices: number;
  default: number;
  custom: number;
  ok: number;
  updating: number;
  failing: number;
  rolledBack: number;
}

export interface DeviceListEntry extends Omit<DeviceSummary, 'lastSeen'> {
  lastSeen: string;
}

/** The body of GET /v1/adoption. */
export interface AdoptionReport {
  generatedAt: string;
  silentAfterSeconds: number;
  totals: {
    devices: number;
    ok: number;
    updating: number;
    failing: number;
    rolledBack: number;
    silent: number;
  };
  bySource: { default: number; custom: number };
  byVersion: VersionCount[];
  series: {
    bucketSeconds: number;
    /** Bucket starts, ms since the epoch. */
    buckets: number[];
    versions: Array<{ version: string; devices: number[] }>;
    sources: { default: number[]; custom: number[] };
  };
  failing: DeviceListEntry[];
  rolledBack: DeviceListEntry[];
  silent: DeviceListEntry[];
}

export function bucketStart(now: number, bucketMs: number): number {
  return Math.floor(now / bucketMs) * bucketMs;
}

/** Where the history query should start for this window. */
export function windowStart(w: AdoptionWindow): number {
  return bucketStart(w.now, w.bucketMs) - (w.points - 1) * w.bucketMs;
}

const entry = (d: DeviceSummary): DeviceListEntry => ({ ...d, lastSeen: new Date(d.lastSeen).toISOString() });

/**
 * Shapes the store's rollups into the API answer. A history bucket holds the counters as they were
 * at the last write in it; a bucket without writes carries the previous one forward.
 */
export function buildAdoptionReport(data: AdoptionData, w: AdoptionWindow): AdoptionReport {
  const versions = new Map<string, VersionCount>();
  const totals = { devices: 0, ok: 0, updating: 0, failing: 0, rolledBack: 0, silent: data.silentCount };
  const bySource = { default: 0, custom: 0 };
  for (const c of data.counters) {
    let v = versions.get(c.version);
    if (v === undefined) {
      v = {
        version: c.version,
        devices: 0,
        default: 0,
        custom: 0,
        ok: 0,
        updating: 0,
        failing: 0,
        rolledBack: 0,
      };
      versions.set(c.version, v);
    }
    v.devices += c.devices;
    totals.devices += c.devices;
    const source = c.sourceKind === 'custom' ? 'custom' : 'default';
    v[source] += c.devices;
    bySource[source] += c.devices;
    const status = c.status === 'rolled-back' ? 'rolledBack' : (c.status as 'ok' | 'updating' | 'failing');
    if (status in totals) {
      v[status] += c.devices;
      totals[status] += c.devices;
    }
  }

  const first = windowStart(w);
  const byBucket = new Map<number, HistoryRow[]>();
  const seriesVersions = new Set<string>();
  for (const h of data.history) {
    if (h.devices !== 0) seriesVersions.add(h.version);
    let rows = byBucket.get(h.bucket);
    if (rows === undefined) byBucket.set(h.bucket, (rows = []));
    rows.push(h);
  }
  const names = [...seriesVersions].sort();
  const buckets: number[] = [];
  const perVersion = new Map<string, number[]>(names.map((n) => [n, []]));
  const sources = { default: [] as number[], custom: [] as number[] };
  const stateOf = (rows: HistoryRow[]): Map<string, { default: number; custom: number }> => {
    const state = new Map<string, { default: number; custom: number }>();
    for (const r of rows) {
      const s = state.get(r.version) ?? { default: 0, custom: 0 };
      s[r.sourceKind === 'custom' ? 'custom' : 'default'] += r.devices;
      state.set(r.version, s);
    }
    return state;
  };
  // The window opens with the last snapshot before it, if the store sent one.
  const before = Math.max(...[...byBucket.keys()].filter((b) => b < first));
  let state = stateOf(byBucket.get(before) ?? []);
  for (let b = first, i = 0; i < w.points; b += w.bucketMs, i++) {
    const rows = byBucket.get(b);
    if (rows !== undefined) state = stateOf(rows);
    buckets.push(b);
    let d = 0;
    let c = 0;
    for (const n of names) {
      const s = state.get(n);
      perVersion.get(n)?.push(s === undefined ? 0 : s.default + s.custom);
      d += s?.default ?? 0;
      c += s?.custom ?? 0;
    }
    sources.default.push(d);
    sources.custom.push(c);
  }

  return {
    generatedAt: new Date(w.now).toISOString(),
    silentAfterSeconds: w.silentAfterMs / 1000,
    totals,
    bySource,
    byVersion: [...versions.values()].filter((v) => v.devices !== 0).sort((a, b) => b.devices - a.devices),
    series: {
      bucketSeconds: w.bucketMs / 1000,
      buckets,
      versions: names.map((version) => ({ version, devices: perVersion.get(version) ?? [] })),
      sources,
    },
    failing: data.failing.map(entry),
    rolledBack: data.rolledBack.map(entry),
    silent: data.silent.map(entry),
  };
}
