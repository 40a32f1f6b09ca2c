import type { ErrorCode } from '@minerhaul/signing';
import type { JournalRecord } from './journal';
import type { ReleaseRecord, StagedRelease } from './release-record';

/**
 * One step of the lifecycle as plain data (balena update-strategies style): the planners below are
 * pure, the executor in update-engine.ts performs the steps. Releases are named by manifest digest;
 * the executor looks them up among the journal's current/previous and the release being installed.
 */
export type EngineStep =
  /** The signed digest changed but this platform's manifest did not: record it, swap nothing. */
  | { kind: 'adopt'; target: ReleaseRecord }
  /** Download the blobs not held yet (never one already held) and unpack / prepare the release. */
  | { kind: 'stage'; target: ReleaseRecord; fetch: string[] }
  | { kind: 'swap'; target: string; from?: string }
  | { kind: 'health'; target: string }
  | { kind: 'commit'; target: string }
  /** Garbage collection keeps these releases (current and previous) and nothing else. */
  | { kind: 'gc'; keep: string[] }
  /**
   * `reject`: the failed release is remembered and not retried while the tag still names it (a broken
   * release must not cause an outage every poll); false when a crash, not the release, cut the check.
   */
  | { kind: 'rollback'; to: string; failed: string; reason: ErrorCode; reject: boolean }
  /** Idempotent: start this release if it is not the one running (used by recovery). */
  | { kind: 'ensure-running'; target: string }
  /** Remove a staged release that will never run (crash before its swap). */
  | { kind: 'discard'; target: string }
  /** Nothing left in flight: clear the journal's step. */
  | { kind: 'settle' };

export type CheckDecision = 'not-found' | 'unchanged' | 'rejected' | 'verify';

/** After the HEAD (lifecycle step 1): one request, and no GET at all when nothing changed. */
export function planCheck(
  current: ReleaseRecord | undefined,
  resolvedDigest: string | undefined,
  rejectedDigest?: string,
): CheckDecision {
  if (resolvedDigest === undefined) return 'not-found';
  if (current !== undefined && current.digest === resolvedDigest) return 'unchanged';
  return resolvedDigest === rejectedDigest ? 'rejected' : 'verify';
}

export interface UpdatePlanInput {
  current?: ReleaseRecord;
  /** The verified target, with this platform's manifest digest already selected. */
  target: ReleaseRecord;
  /** Config and layer digests of the target's manifest. */
  blobs: readonly string[];
  /** Which of them the blob store already holds. */
  held: ReadonlySet<string>;
  /** False for runtimes that fetch by themselves (docker pull by digest). */
  usesBlobStore: boolean;
}

/** Lifecycle steps 3-7 for a verified target. */
export function planUpdate(input: UpdatePlanInput): EngineStep[] {
  const { current, target } = input;
  if (current !== undefined && current.manifestDigest === target.manifestDigest) {
    // A re-pushed index (new digest, new statement) that leaves this platform unchanged: no swap.
    return current.digest === target.digest && current.sequence === target.sequence
      ? []
      : [{ kind: 'adopt', target }, { kind: 'settle' }];
  }
  const fetch = input.usesBlobStore ? unique(input.blobs.filter((d) => !input.held.has(d))) : [];
  const keep =
    current === undefined ? [target.manifestDigest] : [target.manifestDigest, current.manifestDigest];
  return [
    { kind: 'stage', target, fetch },
    {
      kind: 'swap',
      target: target.manifestDigest,
      ...(current === undefined ? {} : { from: current.manifestDigest }),
    },
    { kind: 'health', target: target.manifestDigest },
    { kind: 'commit', target: target.manifestDigest },
    { kind: 'gc', keep },
    { kind: 'settle' },
  ];
}

/**
 * Lifecycle step 6 failed: plan back toward the previous release. On a first install there is none,
 * so the new (verified) miner keeps running rather than no miner at all; it is committed so the
 * device has a recorded release, and the failure is reported.
 */
export function planRollback(
  current: ReleaseRecord | undefined,
  failed: ReleaseRecord,
  reason: ErrorCode,
): EngineStep[] {
  if (current === undefined || current.manifestDigest === failed.manifestDigest) {
    return [
      { kind: 'commit', target: failed.manifestDigest },
      { kind: 'gc', keep: [failed.manifestDigest] },
      { kind: 'settle' },
    ];
  }
  return [
    { kind: 'rollback', to: current.manifestDigest, failed: failed.manifestDigest, reason, reject: true },
    { kind: 'discard', target: failed.manifestDigest },
    { kind: 'settle' },
  ];
}

/**
 * What to do after a restart, from the journal alone (docs/decisions/0401). The commit record is the
 * point of no return: before it, the previous verified release is restored and run; from it on, the
 * update is finished.
 */
export function planRecovery(record: JournalRecord): EngineStep[] {
  const { current, previous, step } = record;
  const ensureCurrent: EngineStep[] =
    current === undefined ? [] : [{ kind: 'ensure-running', target: current.manifestDigest }];
  if (step === undefined) return ensureCurrent;
  const keepSet = (...releases: Array<StagedRelease | undefined>): string[] =>
    unique(releases.filter((r): r is StagedRelease => r !== undefined).map((r) => r.manifestDigest));
  const isHeld = (manifestDigest: string): boolean =>
    current?.manifestDigest === manifestDigest || previous?.manifestDigest === manifestDigest;

  switch (step.name) {
    case 'verify':
      return [...ensureCurrent, { kind: 'settle' }];
    case 'stage': {
      const discard: EngineStep[] = isHeld(step.target.manifestDigest)
        ? []
        : [{ kind: 'discard', target: step.target.manifestDigest }];
      return [...discard, ...ensureCurrent, { kind: 'settle' }];
    }
    case 'swap':
    case 'health': {
      const target = step.target;
      if (current === undefined || current.manifestDigest === target.manifestDigest) {
        // First install: the target is the only verified release; finish installing it.
        return [
          { kind: 'ensure-running', target: target.manifestDigest },
          { kind: 'health', target: target.manifestDigest },
          { kind: 'commit', target: target.manifestDigest },
          { kind: 'gc', keep: keepSet(target, current) },
          { kind: 'settle' },
        ];
      }
      // The new miner never proved healthy: return to the previous verified release.
      return [
        {
          kind: 'rollback',
          to: current.manifestDigest,
          failed: target.manifestDigest,
          reason: 'E_HEALTH',
          reject: false,
        },
        { kind: 'discard', target: target.manifestDigest },
        { kind: 'settle' },
      ];
    }
    case 'rollback':
      if (current === undefined) return [{ kind: 'settle' }];
      return [
        {
          kind: 'rollback',
          to: current.manifestDigest,
          failed: step.failed.manifestDigest,
          reason: step.reason,
          reject: step.reject ?? false,
        },
        ...(isHeld(step.failed.manifestDigest)
          ? []
          : [{ kind: 'discard', target: step.failed.manifestDigest } as EngineStep]),
        { kind: 'settle' },
      ];
    case 'commit': {
      // An adopted digest (same manifest) keeps the previous release; a swap makes current the previous.
      const adopted = current?.manifestDigest === step.target.manifestDigest;
      return [
        { kind: 'ensure-running', target: step.target.manifestDigest },
        { kind: 'commit', target: step.target.manifestDigest },
        { kind: 'gc', keep: keepSet(step.target, adopted ? previous : current) },
        { kind: 'settle' },
      ];
    }
    case 'gc':
      return [...ensureCurrent, { kind: 'gc', keep: keepSet(current, previous) }, { kind: 'settle' }];
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
