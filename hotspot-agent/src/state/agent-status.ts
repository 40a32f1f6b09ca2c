import type { ErrorCode } from '../errors';
import type { AgentPhase } from '../report/device-report';

/** A release as the agent shows it (the engine's ReleaseSummary). */
export interface ReleaseSummary {
  digest: string;
  manifestDigest: string;
  version: string;
  sequence: number;
}

export type CycleOutcome =
  'up-to-date' | 'updated' | 'adopted' | 'not-in-rollout' | 'deferred' | 'rolled-back' | 'failed';

/** What `agent status` and GET /v1/status show; persisted in <stateDir>/agent/status.json. */
export interface AgentStatus {
  deviceId: string;
  agentVersion: string;
  /** Pid of the `agent run` that wrote this (absent after `agent check`). */
  pid?: number;
  startedAt?: string;
  updatedAt: string;
  source: { kind: 'default' | 'custom'; ref: string };
  phase: AgentPhase;
  current?: ReleaseSummary;
  previous?: ReleaseSummary;
  lastCheck?: string;
  lastOutcome?: CycleOutcome;
  lastErrorCode?: ErrorCode;
  lastError?: string;
  rollbackCount: number;
  consecutiveFailures: number;
  nextCheck?: string;
  /** Sequence number of the last report built (the fleet refuses replays with it). */
  reportSequence: number;
  reportsQueued: number;
}

/** What one cycle did, for `agent check` and POST /v1/check. */
export interface CycleSummary {
  outcome: CycleOutcome;
  release?: ReleaseSummary;
  errorCode?: ErrorCode;
  error?: string;
}

/** One line of GET /v1/history: a cycle's summary and when it ended. */
export interface HistoryEntry extends CycleSummary {
  at: string;
}
