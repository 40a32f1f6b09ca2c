import type { AgentStatus, ReleaseSummary } from './agent-status';

const release = (r: ReleaseSummary | undefined): string =>
  r === undefined ? 'none' : `${r.version} (sequence ${r.sequence}, ${r.digest.slice(0, 19)}…)`;

/** The human summary of `agent status`. */
export function formatStatus(status: AgentStatus, now: Date = new Date()): string {
  const lines = [
    `device     ${status.deviceId.slice(0, 16)}…  agent ${status.agentVersion}`,
    `source     ${status.source.ref} (${status.source.kind})`,
    `running    ${release(status.current)}`,
    `previous   ${release(status.previous)}`,
    `phase      ${status.phase}${status.pid !== undefined ? `  (agent pid ${status.pid})` : ''}`,
    `last check ${status.lastCheck ?? 'never'}${status.lastOutcome ? `: ${status.lastOutcome}` : ''}`,
  ];
  if (status.lastErrorCode !== undefined || status.lastError !== undefined) {
    lines.push(`last error ${status.lastErrorCode ?? 'internal'}: ${status.lastError ?? ''}`.trimEnd());
  }
  if (status.nextCheck !== undefined) lines.push(`next check ${status.nextCheck}`);
  if (status.consecutiveFailures > 0)
    lines.push(`failures   ${status.consecutiveFailures} in a row (backing off)`);
  lines.push(`rollbacks  ${status.rollbackCount}`);
  if (status.reportsQueued > 0) lines.push(`reports    ${status.reportsQueued} waiting for the fleet`);
  const age = Math.round((now.getTime() - Date.parse(status.updatedAt)) / 1000);
  lines.push(`updated    ${status.updatedAt} (${age}s ago)`);
  return lines.join('\n') + '\n';
}
