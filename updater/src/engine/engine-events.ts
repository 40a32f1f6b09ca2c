import type { ErrorCode } from '@minerhaul/signing';
import type { JournalStepName } from './journal';
import type { EnginePhase, ReleaseSummary } from './release-record';

/** What the engine reports while it works; the agent logs these and forwards some to the fleet. */
export type EngineEvent =
  | { type: 'phase'; phase: EnginePhase; digest?: string }
  | { type: 'progress'; digest: string; transferred: number; total: number }
  | { type: 'verified'; release: ReleaseSummary }
  | { type: 'updated'; from?: ReleaseSummary; to: ReleaseSummary }
  | { type: 'adopted'; release: ReleaseSummary }
  | { type: 'rolled-back'; from: ReleaseSummary; to: ReleaseSummary; reason: ErrorCode }
  | { type: 'recovered'; step: JournalStepName }
  | { type: 'warning'; code?: ErrorCode; message: string };

export type CheckOutcome =
  /** The tag still resolves to the installed digest (one HEAD, nothing else). */
  | 'up-to-date'
  | 'updated'
  /** New signed digest, same manifest for this platform: recorded, no swap. */
  | 'adopted'
  /** Verified, but the statement's rollout percentage leaves this device out. */
  | 'not-in-rollout'
  /** Verified and staged, but `beforeSwap` asked to wait (the miner holds its update lock). */
  | 'deferred';

export interface CheckResult {
  outcome: CheckOutcome;
  /** The release running after the check. */
  release?: ReleaseSummary;
}
