import type { AdoptionReport } from '@minerhaul/fleet';
import type { CycleSummary } from '@minerhaul/hotspot-agent';
import { MinerhaulError, type ErrorCode } from '@minerhaul/signing';

/**
 * The demo's assertions, as pure functions of what was observed: each returns a one-line account
 * when the outcome is the expected one and throws otherwise. An unmet expectation carries the code
 * of the protection that failed (E_SIGNATURE for a release that should have been refused, E_HEALTH
 * for one that should have been rolled back), else the code the cycle reported, else E_RUNTIME.
 */
function unmet(code: ErrorCode, message: string, observed: Record<string, unknown>): MinerhaulError {
  return new MinerhaulError(code, message, { details: { observed } });
}

const describe = (s: CycleSummary): string =>
  `${s.outcome}${s.errorCode ? ` ${s.errorCode}` : ''}${s.release ? ` ${s.release.version}` : ''}`;

/** The agent installed `version` and the miner now serving says so. */
export function expectTaken(version: string, summary: CycleSummary, minerVersion: string): string {
  const observed = { summary, minerVersion };
  if (summary.outcome !== 'updated' || summary.release?.version !== version) {
    throw unmet(
      summary.errorCode ?? 'E_RUNTIME',
      `expected the agent to install ${version}, it reported: ${describe(summary)}` +
        (summary.error ? ` (${summary.error})` : ''),
      observed,
    );
  }
  if (minerVersion !== version) {
    throw unmet(
      'E_RUNTIME',
      `the agent installed ${version} but the miner serves '${minerVersion}'`,
      observed,
    );
  }
  return `installed ${version} (sequence ${summary.release.sequence}); the miner answers /version ${minerVersion}`;
}

export interface RefusalObservation {
  summary: CycleSummary;
  minerVersion: string;
  /** Miner uptime before and after the cycle: the same process keeps serving when nothing restarted. */
  uptimeBefore: number | undefined;
  uptimeAfter: number | undefined;
  /** Whether a file named after the refused release's own layer appeared in the agent's state. */
  layerFetched: boolean;
}

/** A badly signed release: refused with E_SIGNATURE before any layer came down, never run. */
export function expectRefused(version: string, serving: string, o: RefusalObservation): string {
  const observed = { ...o };
  if (o.summary.outcome !== 'failed' || o.summary.errorCode !== 'E_SIGNATURE') {
    throw unmet(
      'E_SIGNATURE',
      `expected ${version} to be refused with E_SIGNATURE, the agent reported: ${describe(o.summary)}`,
      observed,
    );
  }
  if (o.layerFetched) {
    throw unmet('E_SIGNATURE', `${version}'s layer was downloaded although its signature is bad`, observed);
  }
  if (o.minerVersion !== serving) {
    throw unmet(
      'E_SIGNATURE',
      `the miner serves '${o.minerVersion}', not ${serving}, after the refusal`,
      observed,
    );
  }
  if (o.uptimeBefore === undefined || o.uptimeAfter === undefined || o.uptimeAfter < o.uptimeBefore) {
    throw unmet('E_SIGNATURE', `the miner restarted during the refusal of ${version}`, observed);
  }
  return `refused with E_SIGNATURE, no layer downloaded, never run; ${serving} kept serving without a restart`;
}

/** A release that fails its health check: installed, found unhealthy, rolled back to `serving`. */
export function expectRolledBack(
  version: string,
  serving: string,
  summary: CycleSummary,
  minerVersion: string,
  rollbackCount: number,
): string {
  const observed = { summary, minerVersion, rollbackCount };
  if (summary.outcome !== 'rolled-back' || summary.errorCode !== 'E_HEALTH') {
    throw unmet(
      'E_HEALTH',
      `expected ${version} to be rolled back with E_HEALTH, the agent reported: ${describe(summary)}`,
      observed,
    );
  }
  if (minerVersion !== serving) {
    throw unmet(
      'E_HEALTH',
      `after the rollback the miner serves '${minerVersion}', not ${serving}`,
      observed,
    );
  }
  if (rollbackCount !== 1) {
    throw unmet('E_HEALTH', `the agent counts ${rollbackCount} rollbacks, expected 1`, observed);
  }
  return `unhealthy, rolled back with E_HEALTH; ${serving} serves again (rollbacks: ${rollbackCount})`;
}

/** The fleet's adoption view: one device, on `version`, with `rollbacks` rollbacks. */
export function expectAdoption(
  report: AdoptionReport,
  deviceId: string,
  version: string,
  rollbacks: number,
): string {
  const observed = { totals: report.totals, byVersion: report.byVersion, rolledBack: report.rolledBack };
  const row = report.byVersion.find((v) => v.version === version);
  if (report.totals.devices !== 1 || row?.devices !== 1) {
    throw unmet('E_RUNTIME', `expected the fleet to count one device on ${version}`, observed);
  }
  const device = [...report.rolledBack, ...report.failing].find((d) => d.deviceId === deviceId);
  if (device === undefined || device.version !== version || device.rollbackCount !== rollbacks) {
    throw unmet(
      'E_RUNTIME',
      `expected device ${deviceId} on ${version} with ${rollbacks} rollback(s) in the fleet's lists`,
      observed,
    );
  }
  return `the fleet counts 1 device on ${version}, ${device.rollbackCount} rollback (last error ${device.lastError})`;
}
