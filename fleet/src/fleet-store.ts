import type { DeviceRow, IngestOutcome, VerifiedReport } from './ingest-plan';

export interface CounterRow {
  version: string;
  sourceKind: string;
  status: string;
  devices: number;
}

export interface HistoryRow {
  /** Start of the bucket, ms since the epoch. */
  bucket: number;
  version: string;
  sourceKind: string;
  devices: number;
}

export type DeviceSummary = Pick<
  DeviceRow,
  | 'deviceId'
  | 'agentVersion'
  | 'sourceKind'
  | 'sourceRef'
  | 'version'
  | 'phase'
  | 'status'
  | 'lastError'
  | 'lastSeen'
  | 'rollbackCount'
>;

export interface AdoptionQuery {
  /** Devices last seen before this instant (ms) are silent. */
  silentBefore: number;
  /** History from this bucket (ms) on, plus the last snapshot before it (the window's opening state). */
  since: number;
  /** At most this many devices in each list. */
  listLimit: number;
}

export interface AdoptionData {
  counters: CounterRow[];
  history: HistoryRow[];
  silentCount: number;
  failing: DeviceSummary[];
  rolledBack: DeviceSummary[];
  silent: DeviceSummary[];
}

export interface IngestOptions {
  /** Start of the history bucket the batch falls in (ms); the snapshot of the counters goes there. */
  bucket: number;
}

/**
 * Storage behind the fleet server: SQLite (embedded default) and PostgreSQL implement it with the
 * same schema (migrations.ts). `ingest` records a whole batch in one transaction.
 */
export interface FleetStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Applies pending migrations; returns the schema version now in place. */
  migrate(): Promise<number>;
  ingest(batch: readonly VerifiedReport[], options: IngestOptions): Promise<IngestOutcome[]>;
  adoption(query: AdoptionQuery): Promise<AdoptionData>;
  counters(): Promise<CounterRow[]>;
  countSilent(silentBefore: number): Promise<number>;
  getDevice(deviceId: string): Promise<DeviceRow | undefined>;
  /** Forgets one device (key binding included), e.g. after it was re-keyed; false if unknown. */
  deleteDevice(deviceId: string): Promise<boolean>;
  /** Deletes devices silent since `before` and history older than it (retention). */
  prune(before: number): Promise<{ devices: number; history: number }>;
  close(): Promise<void>;
}
