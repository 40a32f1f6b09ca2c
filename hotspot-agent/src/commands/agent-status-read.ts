import { loadAgentConfig } from '../config/load-config';
import type { AgentStatus } from '../state/agent-status';
import { StatusStore } from '../state/status-store';
import { processAlive } from '../util/process-alive';

/** Where `agent run` and `agent status` look when no --config is given (the systemd unit uses it). */
export const DEFAULT_CONFIG_PATH = '/etc/minerhaul/agent.json';

export interface AgentStatusView {
  /** Whether an `agent run` process wrote this status and still lives. */
  running: boolean;
  status: AgentStatus | null;
}

/** Reads what the agent last recorded; works whether or not the daemon runs. */
export async function readAgentStatus(configPath: string = DEFAULT_CONFIG_PATH): Promise<AgentStatusView> {
  const config = await loadAgentConfig(configPath);
  const status = (await new StatusStore(config.stateDir).readStatus()) ?? null;
  const running = status?.pid !== undefined && processAlive(status.pid);
  return { running, status };
}
