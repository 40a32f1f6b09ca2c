import type { ErrorCode } from '../errors';

/** A release as reports show it (no paths, nothing personal). */
export interface ReportedRelease {
  digest: string;
  version: string;
  sequence: number;
}

export type AgentPhase =
  | 'idle'
  | 'checking'
  | 'downloading'
  | 'staging'
  | 'swapping'
  | 'health-check'
  | 'committed'
  | 'rolled-back'
  | 'failed';

export const REPORT_TYPE = 'minerhaul.report/v1';

/**
 * What a device tells its fleet: fleet's published schema (fleet/schema/report.schema.json; a test
 * validates built reports against it). Deliberately no location, IP address, hostname or owner data:
 * the device id is a hash of a key made on the device. The agent does not import fleet at run time
 * (fleet's index loads ajv); the contract is held by tests instead.
 */
export interface DeviceReport {
  type: typeof REPORT_TYPE;
  deviceId: string;
  agentVersion: string;
  /** Monotonically increasing per device: the fleet refuses replays and reordering with it. */
  seq: number;
  sentAt: string;
  source: { kind: 'default' | 'custom'; ref: string };
  current: ReportedRelease | null;
  previous: ReportedRelease | null;
  phase: AgentPhase;
  lastCheckAt: string | null;
  /** The last cycle's error code (E_INCOMPATIBLE shows which devices need a newer agent). */
  lastError: ErrorCode | null;
  rollbackCount: number;
}

/** Headers carrying the device's signature (fleet verifies the exact body bytes). */
export const REPORT_HEADERS = {
  deviceKey: 'x-minerhaul-device-key',
  signature: 'x-minerhaul-signature',
} as const;

export const REPORTS_PATH = '/v1/reports';
