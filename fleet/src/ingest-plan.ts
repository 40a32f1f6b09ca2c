import type { DeviceReport } from './device-report';
import { type DeviceStatus, NO_VERSION, deviceStatus } from './device-status';

/** A report whose signature and schema were checked; what the store is asked to record. */
export interface VerifiedReport {
  deviceId: string;
  publicKey: string;
  report: DeviceReport;
  /** Server clock (ms) when the report arrived. */
  receivedAt: number;
}

/** The stored state of one device: its key binding plus the fields of its latest report. */
export interface DeviceRow {
  deviceId: string;
  publicKey: string;
  registeredAt: number;
  lastSeen: number;
  lastSeq: number;
  sentAt: number;
  agentVersion: string;
  sourceKind: 'default' | 'custom';
  sourceRef: string;
  version: string;
  currentDigest: string | null;
  currentSequence: number | null;
  previousVersion: string | null;
  previousDigest: string | null;
  previousSequence: number | null;
  phase: string;
  lastCheckAt: number | null;
  lastError: string | null;
  rollbackCount: number;
  status: DeviceStatus;
}

export type IngestOutcome = { accepted: true } | { accepted: false; reason: 'replayed' | 'key-changed' };

export interface CounterKey {
  version: string;
  sourceKind: string;
  status: string;
}

export interface IngestPlan {
  outcomes: IngestOutcome[];
  /** Final state of every device the batch changed, to upsert. */
  rows: DeviceRow[];
  /** Net change of the live counters, by (version, source, status). */
  deltas: Array<CounterKey & { delta: number }>;
  /** Net change of the last-seen rollup, by minute. */
  seenDeltas: Array<{ minute: number; delta: number }>;
}

export const minuteOf = (ms: number): number => Math.floor(ms / 60_000);

function parseTime(value: string | null): number | null {
  return value === null ? null : Date.parse(value);
}

function rowFromReport(v: VerifiedReport, registeredAt: number): DeviceRow {
  const r = v.report;
  return {
    deviceId: v.deviceId,
    publicKey: v.publicKey,
    registeredAt,
    lastSeen: v.receivedAt,
    lastSeq: r.seq,
    sentAt: Date.parse(r.sentAt),
    agentVersion: r.agentVersion,
    sourceKind: r.source.kind,
    sourceRef: r.source.ref,
    version: r.current?.version ?? NO_VERSION,
    currentDigest: r.current?.digest ?? null,
    currentSequence: r.current?.sequence ?? null,
    previousVersion: r.previous?.version ?? null,
    previousDigest: r.previous?.digest ?? null,
    previousSequence: r.previous?.sequence ?? null,
    phase: r.phase,
    lastCheckAt: parseTime(r.lastCheckAt),
    lastError: r.lastError,
    rollbackCount: r.rollbackCount,
    status: deviceStatus(r),
  };
}

const SEP = '\u0000';
const keyOf = (row: Pick<DeviceRow, 'version' | 'sourceKind' | 'status'>): string =>
  [row.version, row.sourceKind, row.status].join(SEP);

/**
 * Decides a batch against the devices' stored state, in arrival order: a device's key is bound on
 * its first accepted report (trust on first use), a later report must come with the same key and
 * a higher `seq`. Pure, so SQLite and PostgreSQL decide identically and tests need no database.
 */
export function planIngest(
  existing: ReadonlyMap<string, DeviceRow>,
  batch: readonly VerifiedReport[],
): IngestPlan {
  const current = new Map<string, DeviceRow>();
  const deltas = new Map<string, number>();
  const bump = (row: DeviceRow, by: number): void => {
    const k = keyOf(row);
    deltas.set(k, (deltas.get(k) ?? 0) + by);
  };
  const seen = new Map<number, number>();
  const bumpSeen = (row: DeviceRow, by: number): void => {
    const m = minuteOf(row.lastSeen);
    seen.set(m, (seen.get(m) ?? 0) + by);
  };
  const outcomes = batch.map((item): IngestOutcome => {
    const before = current.get(item.deviceId) ?? existing.get(item.deviceId);
    if (before !== undefined && before.publicKey !== item.publicKey)
      return { accepted: false, reason: 'key-changed' };
    if (before !== undefined && item.report.seq <= before.lastSeq)
      return { accepted: false, reason: 'replayed' };
    const after = rowFromReport(item, before?.registeredAt ?? item.receivedAt);
    if (before !== undefined) {
      bump(before, -1);
      bumpSeen(before, -1);
    }
    bump(after, +1);
    bumpSeen(after, +1);
    current.set(item.deviceId, after);
    return { accepted: true };
  });
  return {
    outcomes,
    rows: [...current.values()],
    deltas: [...deltas]
      .filter(([, delta]) => delta !== 0)
      .map(([k, delta]) => {
        const [version = '', sourceKind = '', status = ''] = k.split(SEP);
        return { version, sourceKind, status, delta };
      }),
    seenDeltas: [...seen].filter(([, delta]) => delta !== 0).map(([minute, delta]) => ({ minute, delta })),
  };
}
