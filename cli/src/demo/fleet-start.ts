import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import { fetchBounded, waitFor } from './bounded-wait';
import type { DemoLayout } from './demo-paths';
import { REPO_PROGRAMS } from './demo-paths';
import { lastJsonLine } from './run-command';
import type { ServiceProcess, ServiceProcesses } from './service-processes';

export interface DemoFleet {
  url: string;
  adminToken: string;
  service: ServiceProcess;
  command: string;
}

/** Agents report every this many seconds in the demo; the fleet calls a device silent after two. */
export const DEMO_REPORT_INTERVAL_SECONDS = 30;

/**
 * Starts a real `minerhaul fleet serve` process on SQLite. It listens on port 0 and prints its URL
 * (--json), so no port can be taken between a probe and the listen. The admin token is made here,
 * passed through the environment (never argv) and kept in a 0600 file.
 */
export async function startDemoFleet(
  layout: DemoLayout,
  processes: ServiceProcesses,
  env: NodeJS.ProcessEnv,
): Promise<DemoFleet> {
  const adminToken = randomBytes(18).toString('base64url');
  mkdirSync(dirname(layout.fleetConfig), { recursive: true });
  writeFileSync(layout.adminTokenFile, `${adminToken}\n`, { mode: 0o600 });
  // Short buckets so the dashboard's adoption chart moves during a two-minute demo.
  writeFileSync(
    layout.fleetConfig,
    JSON.stringify({
      bucketSeconds: 5,
      seriesPoints: 240,
      reportIntervalSeconds: DEMO_REPORT_INTERVAL_SECONDS,
    }),
  );
  const args = [
    '--json',
    'fleet',
    'serve',
    '--db',
    `sqlite:${layout.fleetDb}`,
    '--listen',
    '127.0.0.1:0',
    '--config',
    layout.fleetConfig,
  ];
  const service = processes.start({
    name: 'fleet',
    command: process.execPath,
    args: [REPO_PROGRAMS.cli, ...args],
    env: { ...env, MINERHAUL_FLEET_ADMIN_TOKEN: adminToken },
  });
  const url = await waitFor(
    async () => {
      if (!service.running()) {
        throw new MinerhaulError('E_RUNTIME', `fleet serve exited: ${service.stderr().trim()}`);
      }
      return lastJsonLine<{ url?: string }>(service.stdout())?.url;
    },
    { what: 'fleet server listening', timeoutMs: 30_000 },
  );
  await waitFor(
    async () => ((await fetchBounded(`${url}/healthz`, { timeoutMs: 2_000 })).ok ? true : undefined),
    { what: `fleet server health at ${url}/healthz`, timeoutMs: 10_000 },
  );
  return { url, adminToken, service, command: `minerhaul ${args.join(' ')}` };
}
