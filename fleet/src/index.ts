// Reporting contract (light: node:crypto and ajv only), for the hotspot agent's sender.
export {
  DeviceReport,
  REPORT_PHASES,
  REPORT_TYPE,
  type ReportPhase,
  type ReportRelease,
} from './device-report';
export { validateReport, type ReportValidation, type SchemaIssue } from './report-validator';
export {
  DEVICE_KEY_HEADER,
  SIGNATURE_HEADER,
  REPORT_CONTENT_TYPE,
  type DeviceKeyPair,
  deviceIdFromPublicKey,
  generateDeviceKey,
  publicKeyBase64,
  publicKeyFromBase64,
  signReport,
  signedReportRequest,
  verifyReportSignature,
} from './report-signature';
export { REFUSAL_REASONS, type RefusalReason, ReportRefusedError } from './errors';
export { DEVICE_STATUSES, type DeviceStatus, deviceStatus } from './device-status';

// Server side. These modules load express, better-sqlite3 and pg when first used: import them
// from '@minerhaul/fleet' only where a server or simulator is wanted.
export type { FleetStore, AdoptionData, CounterRow, HistoryRow, DeviceSummary } from './fleet-store';
export type { AdoptionReport, VersionCount } from './adoption-view';
export type { FleetServer, FleetServerOptions } from './fleet-server';
export type { SimulateOptions, SimulateResult } from './fleet-simulator';
export type { StartedFleetServer } from './fleet-serve';
export type { VerifiedReport, DeviceRow, IngestOutcome } from './ingest-plan';
export { DEFAULT_SERVER_OPTIONS } from './server-defaults';
export {
  ADMIN_TOKEN_ENV,
  DEFAULT_DB,
  DEFAULT_LISTEN,
  FleetConfig,
  checkFleetConfig,
  loadFleetConfig,
  parseListen,
} from './fleet-config';
export { DEFAULT_SIMULATE_OPTIONS, SIMULATE_LIMITS, simulateFleet } from './fleet-simulator';

/** The fleet server (loads express and the store's driver on first call). */
export function createFleetServer(
  options: import('./fleet-server').FleetServerOptions,
): import('./fleet-server').FleetServer {
  return (require('./fleet-server') as typeof import('./fleet-server')).createFleetServer(options);
}

/** `fleet serve`: store, migrations, listen (loads express and the driver on first call). */
export function startFleetServer(
  ...args: Parameters<typeof import('./fleet-serve').startFleetServer>
): ReturnType<typeof import('./fleet-serve').startFleetServer> {
  return (require('./fleet-serve') as typeof import('./fleet-serve')).startFleetServer(...args);
}

/** Opens `sqlite:PATH` or `postgres://…` (the driver loads on first call). */
export function openStore(url: string): import('./fleet-store').FleetStore {
  return (require('./open-store') as typeof import('./open-store')).openStore(url);
}
