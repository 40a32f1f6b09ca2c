import { join } from 'node:path';
import {
  DEFAULT_SERVER_OPTIONS,
  type DeviceKeyPair,
  type DeviceReport,
  type FleetServer,
  type FleetServerOptions,
  type FleetStore,
  createFleetServer,
  openStore,
  signedReportRequest,
} from '@minerhaul/fleet';
import { makeTmpDir } from '../../test/support/tmp-dir';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestFleet {
  url: string;
  store: FleetStore;
  fleet: FleetServer;
  dbPath: string;
  close(): Promise<void>;
}

/** A real fleet server on 127.0.0.1 with a fresh SQLite file (or the store given). */
export async function startTestFleet(
  overrides: Partial<FleetServerOptions> = {},
  storeUrl?: string,
): Promise<TestFleet> {
  const tmp = makeTmpDir('minerhaul-fleet-');
  const dbPath = join(tmp.path, 'fleet.db');
  const store = openStore(storeUrl ?? `sqlite:${dbPath}`);
  await store.migrate();
  const fleet = createFleetServer({
    ...DEFAULT_SERVER_OPTIONS,
    batch: { ...DEFAULT_SERVER_OPTIONS.batch },
    store,
    adminToken: ADMIN_TOKEN,
    ...overrides,
  });
  const url = await fleet.listen('127.0.0.1', 0);
  return {
    url,
    store,
    fleet,
    dbPath,
    async close() {
      await fleet.close();
      tmp.cleanup();
    },
  };
}

/** Sends a report signed by `device` (or the given raw body and headers). */
export async function postReport(
  url: string,
  device: DeviceKeyPair,
  report: DeviceReport | object,
  tweak: (req: { body: Buffer; headers: Record<string, string> }) => {
    body: Buffer | string;
    headers: Record<string, string>;
  } = (r) => r,
): Promise<{ status: number; body: { error?: { code: string; reason: string; details?: unknown } } }> {
  const req = tweak(signedReportRequest(device.privateKey, report));
  const res = await fetch(`${url}/v1/reports`, { method: 'POST', headers: req.headers, body: req.body });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; reason: string } } };
}

export async function adminGet(url: string, path: string, token = ADMIN_TOKEN): Promise<Response> {
  return fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
}
