import type { DeviceReport } from './device-report';

/** The buckets the dashboard counts devices in; "silent" is derived from time, not stored. */
export const DEVICE_STATUSES = ['ok', 'updating', 'failing', 'rolled-back'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** Version label of a device that has no release installed yet. */
export const NO_VERSION = '(none)';

const UPDATING = new Set(['downloading', 'staging', 'swapping', 'health-check']);

/**
 * Maps a report to one status. A rollback is its own status (HIP3 wants to see it apart from
 * failures); any other last error, E_INCOMPATIBLE included, counts as failing until a clean cycle.
 */
export function deviceStatus(report: Pick<DeviceReport, 'phase' | 'lastError'>): DeviceStatus {
  if (report.phase === 'rolled-back') return 'rolled-back';
  if (UPDATING.has(report.phase)) return 'updating';
  if (report.phase === 'failed' || report.lastError !== null) return 'failing';
  return 'ok';
}
