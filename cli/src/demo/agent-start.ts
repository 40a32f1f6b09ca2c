import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AgentConfig, AgentStatus, CycleSummary, HistoryEntry } from '@minerhaul/hotspot-agent';
import { MinerhaulError } from '@minerhaul/signing';
import { fetchBounded, waitFor } from './bounded-wait';
import type { DemoLayout } from './demo-paths';
import { REPO_PROGRAMS } from './demo-paths';
import { DEMO_REPORT_INTERVAL_SECONDS } from './fleet-start';
import type { ServiceProcess, ServiceProcesses } from './service-processes';

export interface DemoAgentInput {
  layout: DemoLayout;
  channelRef: string;
  fleetUrl: string;
  minerPort: number;
  apiPort: number;
}

/** Seconds the new miner has to answer /health with 2xx before the agent rolls it back. */
export const DEMO_HEALTH_TIMEOUT_SECONDS = 10;

/**
 * The hotspot's config: the vendor's default source (the demo registry), the maintainer's key as the
 * only trusted one, the bubblewrap runtime in slim mode (the miner's port in its environment), an
 * http health check on the sample miner,
 * reports to the demo fleet and the local API on loopback. The cron never fires during a demo and
 * the first check runs at start (jitter 0): every later check is asked for through POST /v1/check,
 * so each step sees exactly one cycle (docs/decisions/0800).
 */
export function demoAgentConfig(input: DemoAgentInput): AgentConfig {
  return {
    stateDir: input.layout.agentState,
    defaultSource: { ref: input.channelRef },
    trust: { keys: [input.layout.keys.maintainerPublic] },
    runtime: {
      kind: 'bubblewrap',
      mode: 'slim',
      dataDir: input.layout.minerData,
      env: { MINER_PORT: String(input.minerPort) },
    },
    health: {
      kind: 'http',
      url: `http://127.0.0.1:${input.minerPort}/health`,
      timeoutSeconds: DEMO_HEALTH_TIMEOUT_SECONDS,
      stableSeconds: 2,
    },
    schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
    fleet: { url: input.fleetUrl, heartbeatSeconds: DEMO_REPORT_INTERVAL_SECONDS },
    api: { listen: `127.0.0.1:${input.apiPort}` },
  };
}

/** The agent's local API (docs/owner-guide.md "Owner keys and the local API"). */
export class AgentApi {
  constructor(readonly url: string) {}

  async status(): Promise<AgentStatus> {
    return this.getJson<AgentStatus>('/v1/status');
  }

  async history(): Promise<HistoryEntry[]> {
    return (await this.getJson<{ history: HistoryEntry[] }>('/v1/history')).history;
  }

  /** POST /v1/check: one cycle now; answers when it is over (a rollback takes the health timeout). */
  async check(signal?: AbortSignal): Promise<CycleSummary> {
    const res = await fetchBounded(`${this.url}/v1/check`, {
      method: 'POST',
      timeoutMs: 180_000,
      ...(signal ? { signal } : {}),
    });
    if (!res.ok) throw new MinerhaulError('E_RUNTIME', `POST /v1/check answered HTTP ${res.status}`);
    return (await res.json()) as CycleSummary;
  }

  /**
   * One cycle for a release published at `since`: POST /v1/check, or, when another cycle (the backoff
   * retry after a failure) already handled the release, that cycle's entry in the history.
   */
  async checkRelease(since: Date, signal?: AbortSignal): Promise<CycleSummary> {
    const summary = await this.check(signal);
    if (summary.outcome !== 'up-to-date') return summary;
    const earlier = (await this.history()).filter((h) => Date.parse(h.at) >= since.getTime()).at(-1);
    if (earlier === undefined) return summary;
    return {
      outcome: earlier.outcome,
      ...(earlier.release ? { release: earlier.release } : {}),
      ...(earlier.errorCode ? { errorCode: earlier.errorCode } : {}),
      ...(earlier.error ? { error: earlier.error } : {}),
    };
  }

  private async getJson<T>(path: string): Promise<T> {
    const res = await fetchBounded(`${this.url}${path}`, { timeoutMs: 5_000 });
    if (!res.ok) throw new MinerhaulError('E_RUNTIME', `GET ${path} answered HTTP ${res.status}`);
    return (await res.json()) as T;
  }
}

export interface DemoAgent {
  api: AgentApi;
  service: ServiceProcess;
  command: string;
}

/**
 * Writes the config and starts the daemon as installed (hotspot-agent/bin/minerhaul-agent.js, what the
 * systemd unit runs), then waits until its API answers as this very process.
 */
export async function startDemoAgent(
  input: DemoAgentInput,
  processes: ServiceProcesses,
  env: NodeJS.ProcessEnv,
): Promise<DemoAgent> {
  mkdirSync(dirname(input.layout.agentConfig), { recursive: true });
  writeFileSync(input.layout.agentConfig, JSON.stringify(demoAgentConfig(input), null, 2) + '\n');
  const service = processes.start({
    name: 'agent',
    command: process.execPath,
    args: [REPO_PROGRAMS.agent, 'run', '--config', input.layout.agentConfig],
    env,
  });
  const api = new AgentApi(`http://127.0.0.1:${input.apiPort}`);
  await waitFor(
    async () => {
      if (!service.running()) {
        throw new MinerhaulError('E_RUNTIME', `the agent exited: ${service.stderr().trim().slice(-2000)}`);
      }
      const status = await api.status().catch(() => undefined);
      return status?.pid === service.pid ? status : undefined;
    },
    { what: 'the agent API', timeoutMs: 30_000 },
  );
  return {
    api,
    service,
    command: `node hotspot-agent/bin/minerhaul-agent.js run --config ${input.layout.agentConfig}`,
  };
}
