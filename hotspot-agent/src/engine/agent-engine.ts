import type { AgentConfig, EffectiveSource } from '../config/agent-config';
import type { ErrorCode } from '../errors';
import type { ReleaseSummary } from '../state/agent-status';

/** The outcome of one engine check (updater's CheckResult). */
export interface EngineCheckResult {
  outcome: 'up-to-date' | 'updated' | 'adopted' | 'not-in-rollout' | 'deferred';
  release?: ReleaseSummary;
}

/** The engine's state for `agent status` (updater's EngineStatus). */
export interface EngineStatusView {
  phase: string;
  current?: ReleaseSummary;
  previous?: ReleaseSummary;
  lastCheck?: string;
  lastErrorCode?: ErrorCode;
  lastError?: string;
  rollbackCount: number;
}

/** An engine event as the agent logs it (updater's EngineEvent). */
export interface EngineEventView {
  type: string;
  phase?: string;
  [field: string]: unknown;
}

/**
 * What the agent needs from the update engine. The agent owns this small interface so that its
 * scheduling, API and reporting are tested without registries or sandboxes; engine-factory.ts adapts
 * updater's UpdateEngine to it.
 */
export interface AgentEngine {
  /** Crash recovery from the journal; idempotent. */
  start(signal?: AbortSignal): Promise<void>;
  /** One check-and-update cycle; throws a MinerhaulError with the failure's code. */
  check(signal?: AbortSignal): Promise<EngineCheckResult>;
  status(): EngineStatusView;
}

/** Decisions the agent makes inside a cycle. */
export interface EngineHooks {
  /** This device's id (the staged rollout hashes it with the digest). */
  readonly deviceId: string;
  /** Staged rollout: whether this device takes a verified release. */
  admit(statement: { digest: string; rollout?: number }): boolean;
  /** Right before the swap; false defers the update (the miner holds its update lock). */
  beforeSwap(): Promise<boolean>;
  onEvent(event: EngineEventView): void;
}

export type EngineFactory = (
  config: AgentConfig,
  source: EffectiveSource,
  hooks: EngineHooks,
) => Promise<AgentEngine>;
