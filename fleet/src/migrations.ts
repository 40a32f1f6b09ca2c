/**
 * Versioned schema changes, applied in order at start and recorded in `schema_migrations`. The SQL
 * is the common subset of SQLite and PostgreSQL so both stores hold the same schema. Append only:
 * an applied migration is never edited.
 */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'devices, live counters and adoption history',
    statements: [
      `CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        registered_at BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        sent_at BIGINT NOT NULL,
        agent_version TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        source_ref TEXT NOT NULL,
        version TEXT NOT NULL,
        current_digest TEXT,
        current_sequence BIGINT,
        previous_version TEXT,
        previous_digest TEXT,
        previous_sequence BIGINT,
        phase TEXT NOT NULL,
        last_check_at BIGINT,
        last_error TEXT,
        rollback_count BIGINT NOT NULL,
        status TEXT NOT NULL
      )`,
      // Silent devices are a range of last_seen; failing ones a status, newest first.
      'CREATE INDEX devices_last_seen ON devices (last_seen)',
      'CREATE INDEX devices_status_last_seen ON devices (status, last_seen)',
      // Pre-aggregated rollups: /v1/adoption reads these small tables, never scans devices.
      `CREATE TABLE adoption_counters (
        version TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        status TEXT NOT NULL,
        devices BIGINT NOT NULL,
        PRIMARY KEY (version, source_kind, status)
      )`,
      `CREATE TABLE adoption_history (
        bucket BIGINT NOT NULL,
        version TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        devices BIGINT NOT NULL,
        PRIMARY KEY (bucket, version, source_kind)
      )`,
    ],
  },
  {
    version: 2,
    name: 'last-seen rollup for silent-device counts',
    statements: [
      // Devices per minute of their last report: "how many are silent" becomes a sum over at most
      // retention-many minutes instead of a count over every silent device's row.
      `CREATE TABLE last_seen_rollup (
        minute BIGINT PRIMARY KEY,
        devices BIGINT NOT NULL
      )`,
      'INSERT INTO last_seen_rollup (minute, devices) SELECT last_seen / 60000, COUNT(*) FROM devices GROUP BY last_seen / 60000',
    ],
  },
];

/** The device columns, in one order for every statement (camelCase field, SQL column). */
export const DEVICE_COLUMNS = [
  ['deviceId', 'device_id'],
  ['publicKey', 'public_key'],
  ['registeredAt', 'registered_at'],
  ['lastSeen', 'last_seen'],
  ['lastSeq', 'last_seq'],
  ['sentAt', 'sent_at'],
  ['agentVersion', 'agent_version'],
  ['sourceKind', 'source_kind'],
  ['sourceRef', 'source_ref'],
  ['version', 'version'],
  ['currentDigest', 'current_digest'],
  ['currentSequence', 'current_sequence'],
  ['previousVersion', 'previous_version'],
  ['previousDigest', 'previous_digest'],
  ['previousSequence', 'previous_sequence'],
  ['phase', 'phase'],
  ['lastCheckAt', 'last_check_at'],
  ['lastError', 'last_error'],
  ['rollbackCount', 'rollback_count'],
  ['status', 'status'],
] as const;
