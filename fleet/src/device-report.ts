import { ERROR_CODES, type ErrorCode } from '@minerhaul/signing';

/** The update phases an agent reports (hotspot-agent's lifecycle, DESIGN.md "Update lifecycle"). */
export const REPORT_PHASES = [
  'idle',
  'checking',
  'downloading',
  'staging',
  'swapping',
  'health-check',
  'committed',
  'rolled-back',
  'failed',
] as const;

export type ReportPhase = (typeof REPORT_PHASES)[number];

export const REPORT_TYPE = 'minerhaul.report/v1';

/** One release as the device knows it: what it runs now or ran before. */
export interface ReportRelease {
  digest: string;
  version: string;
  sequence: number;
}

/**
 * What a hotspot tells the fleet server, and nothing else: no location, no address, no owner.
 * `seq` increases with every report the device sends and `sentAt` is its clock; together they
 * make replays and stale reports refusable (docs/fleet-admin-guide.md "Replay rule").
 */
export interface DeviceReport {
  type: typeof REPORT_TYPE;
  deviceId: string;
  agentVersion: string;
  seq: number;
  sentAt: string;
  source: { kind: 'default' | 'custom'; ref: string };
  current: ReportRelease | null;
  previous: ReportRelease | null;
  phase: ReportPhase;
  lastCheckAt: string | null;
  lastError: ErrorCode | null;
  rollbackCount: number;
}

const release = {
  type: 'object',
  additionalProperties: false,
  required: ['digest', 'version', 'sequence'],
  properties: {
    digest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
    version: { type: 'string', minLength: 1, maxLength: 128 },
    sequence: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  },
} as const;

/**
 * The published JSON Schema of a report (also fleet/schema/report.schema.json; a test keeps the
 * two equal). Same name as the type, as STYLE.md asks.
 */
export const DeviceReport = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://minerhaul.dev/schema/report.schema.json',
  title: 'minerhaul device report',
  type: 'object',
  additionalProperties: false,
  required: [
    'type',
    'deviceId',
    'agentVersion',
    'seq',
    'sentAt',
    'source',
    'current',
    'previous',
    'phase',
    'lastCheckAt',
    'lastError',
    'rollbackCount',
  ],
  properties: {
    type: { const: REPORT_TYPE },
    deviceId: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{7,63}$' },
    agentVersion: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z.+-]+$' },
    seq: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    sentAt: { type: 'string', format: 'date-time', maxLength: 40 },
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'ref'],
      properties: {
        kind: { enum: ['default', 'custom'] },
        ref: { type: 'string', minLength: 1, maxLength: 512 },
      },
    },
    current: { oneOf: [{ type: 'null' }, release] },
    previous: { oneOf: [{ type: 'null' }, release] },
    phase: { enum: [...REPORT_PHASES] },
    lastCheckAt: { oneOf: [{ type: 'null' }, { type: 'string', format: 'date-time', maxLength: 40 }] },
    lastError: { oneOf: [{ type: 'null' }, { enum: [...ERROR_CODES] }] },
    rollbackCount: { type: 'integer', minimum: 0, maximum: 1000000 },
  },
} as const;
