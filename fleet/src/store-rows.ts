import type { DeviceStatus } from './device-status';
import type { DeviceRow } from './ingest-plan';
import { DEVICE_COLUMNS } from './migrations';
import type { CounterRow, DeviceSummary, HistoryRow } from './fleet-store';

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** A database row (snake_case; PostgreSQL BIGINTs arrive as strings) as a DeviceRow. */
export function deviceFromRow(r: Record<string, unknown>): DeviceRow {
  return {
    deviceId: String(r.device_id),
    publicKey: String(r.public_key),
    registeredAt: num(r.registered_at),
    lastSeen: num(r.last_seen),
    lastSeq: num(r.last_seq),
    sentAt: num(r.sent_at),
    agentVersion: String(r.agent_version),
    sourceKind: r.source_kind === 'custom' ? 'custom' : 'default',
    sourceRef: String(r.source_ref),
    version: String(r.version),
    currentDigest: strOrNull(r.current_digest),
    currentSequence: numOrNull(r.current_sequence),
    previousVersion: strOrNull(r.previous_version),
    previousDigest: strOrNull(r.previous_digest),
    previousSequence: numOrNull(r.previous_sequence),
    phase: String(r.phase),
    lastCheckAt: numOrNull(r.last_check_at),
    lastError: strOrNull(r.last_error),
    rollbackCount: num(r.rollback_count),
    status: String(r.status) as DeviceStatus,
  };
}

export const SUMMARY_COLUMNS =
  'device_id, agent_version, source_kind, source_ref, version, phase, status, last_error, last_seen, rollback_count';

export function summaryFromRow(r: Record<string, unknown>): DeviceSummary {
  return {
    deviceId: String(r.device_id),
    agentVersion: String(r.agent_version),
    sourceKind: r.source_kind === 'custom' ? 'custom' : 'default',
    sourceRef: String(r.source_ref),
    version: String(r.version),
    phase: String(r.phase),
    status: String(r.status) as DeviceStatus,
    lastError: strOrNull(r.last_error),
    lastSeen: num(r.last_seen),
    rollbackCount: num(r.rollback_count),
  };
}

export const COLUMN_NAMES = DEVICE_COLUMNS.map(([, c]) => c);

/** The row's values in DEVICE_COLUMNS order. */
export function deviceValues(row: DeviceRow): Array<string | number | null> {
  return DEVICE_COLUMNS.map(([f]) => row[f]);
}

/** `SET col = excluded.col` for every column but the key (the same in both dialects). */
export const UPSERT_SET = COLUMN_NAMES.filter((c) => c !== 'device_id' && c !== 'registered_at')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

/** An adoption_counters row as a CounterRow. */
export function counterFromRow(r: Record<string, unknown>): CounterRow {
  return {
    version: String(r.version),
    sourceKind: String(r.source_kind),
    status: String(r.status),
    devices: num(r.devices),
  };
}

/** An adoption_history row as a HistoryRow. */
export function historyFromRow(r: Record<string, unknown>): HistoryRow {
  return {
    bucket: num(r.bucket),
    version: String(r.version),
    sourceKind: String(r.source_kind),
    devices: num(r.devices),
  };
}
