import type { AgentStatus, ReleaseSummary } from '../state/agent-status';
import { REPORT_TYPE, type DeviceReport, type ReportedRelease } from './device-report';

const reported = (r: ReleaseSummary | undefined): ReportedRelease | null =>
  r === undefined ? null : { digest: r.digest, version: r.version, sequence: r.sequence };

/**
 * The report for the fleet, from the agent's status. Only what the issue lists; nothing that
 * identifies a person or a place (no IP, hostname, location, paths).
 */
export function buildReport(status: AgentStatus, sequence: number, now: Date): DeviceReport {
  return {
    type: REPORT_TYPE,
    deviceId: status.deviceId,
    agentVersion: status.agentVersion,
    seq: sequence,
    sentAt: now.toISOString(),
    source: { kind: status.source.kind, ref: status.source.ref },
    current: reported(status.current),
    previous: reported(status.previous),
    phase: status.phase,
    lastCheckAt: status.lastCheck ?? null,
    lastError: status.lastErrorCode ?? null,
    rollbackCount: status.rollbackCount,
  };
}
