import type { AgentConfig, EffectiveSource } from '../config/agent-config';
import type { ErrorCode } from '../errors';
import type { EngineCheckResult, EngineEventView, EngineStatusView } from './agent-engine';

/** Parent → child: what to run. */
export interface EngineJob {
  type: 'job';
  op: 'start' | 'check';
  config: AgentConfig;
  source: EffectiveSource;
  /** For the staged rollout rule, which is pure (a stable hash of device id and digest). */
  deviceId: string;
}

/** Child → parent: a hook question, an event, or the end of the job. */
export type ChildMessage =
  | { type: 'before-swap'; id: number }
  | { type: 'event'; event: EngineEventView }
  | {
      type: 'done';
      status: EngineStatusView;
      result?: EngineCheckResult;
      error?: { code?: ErrorCode; message: string; details?: Record<string, unknown> };
    };

/** Parent → child: the answer to a hook question. */
export interface HookAnswer {
  type: 'answer';
  id: number;
  value: boolean;
}
