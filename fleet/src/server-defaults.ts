/** Defaults of `fleet serve`, apart from fleet-server.ts so reading them loads no express. */
export const DEFAULT_SERVER_OPTIONS = {
  reportIntervalSeconds: 3600,
  bucketSeconds: 3600,
  seriesPoints: 24 * 30,
  retentionDays: 90,
  maxReportBytes: 8 * 1024,
  maxReportAgeSeconds: 900,
  maxClockSkewSeconds: 300,
  listLimit: 100,
  batch: { maxBatch: 1000, maxDelayMs: 5 },
} as const;
