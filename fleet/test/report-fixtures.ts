import { createHash } from 'node:crypto';
import { type DeviceReport, REPORT_TYPE, type ReportRelease } from '@minerhaul/fleet';

export function release(version: string, sequence: number): ReportRelease {
  return { digest: `sha256:${createHash('sha256').update(version).digest('hex')}`, version, sequence };
}

/** A valid report; tests override what they are about. */
export function makeReport(
  deviceId: string,
  overrides: Partial<DeviceReport> = {},
  now = Date.now(),
): DeviceReport {
  return {
    type: REPORT_TYPE,
    deviceId,
    agentVersion: '0.1.0',
    seq: 1,
    sentAt: new Date(now).toISOString(),
    source: { kind: 'default', ref: 'registry.example/miner:stable' },
    current: release('1.0.0', 1),
    previous: null,
    phase: 'idle',
    lastCheckAt: new Date(now - 1000).toISOString(),
    lastError: null,
    rollbackCount: 0,
    ...overrides,
  };
}
