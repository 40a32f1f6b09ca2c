import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ErrorCode, MinerhaulError } from '@minerhaul/signing';
import { readFileIfExists, writeFileAtomic } from './atomic-file';
import type { ReleaseRecord, StagedRelease } from './release-record';

export const JOURNAL_FORMAT = 'minerhaul.engine-journal/v1';
export const JOURNAL_FILE = 'engine-journal.json';

/**
 * The transition in progress, written BEFORE it takes effect (see docs/decisions/0401). After a crash,
 * the step found here tells recovery what may have half-happened.
 */
export type JournalStep =
  | { name: 'verify'; digest: string }
  | { name: 'stage'; target: ReleaseRecord }
  | { name: 'swap'; target: StagedRelease }
  | { name: 'health'; target: StagedRelease }
  | { name: 'rollback'; failed: StagedRelease; reason: ErrorCode; reject?: boolean }
  | { name: 'commit'; target: StagedRelease }
  | { name: 'gc' };

export type JournalStepName = JournalStep['name'];
export const JOURNAL_STEP_NAMES: readonly JournalStepName[] = [
  'verify',
  'stage',
  'swap',
  'health',
  'rollback',
  'commit',
  'gc',
];

/** The whole durable state of the engine: one small JSON document replaced atomically. */
export interface JournalRecord {
  format: typeof JOURNAL_FORMAT;
  /** Incremented on every write, so tests and logs can order transitions. */
  seq: number;
  current?: StagedRelease;
  previous?: StagedRelease;
  step?: JournalStep;
  /** The last release that failed (health, start): not retried while the tag still names its digest. */
  rejected?: RejectedRelease;
  lastCheck?: string;
  lastErrorCode?: ErrorCode;
  lastError?: string;
  rollbackCount: number;
}

export interface RejectedRelease {
  digest: string;
  manifestDigest: string;
  version: string;
  reason: ErrorCode;
  /** RFC 3339. */
  at: string;
}

export function emptyJournal(): JournalRecord {
  return { format: JOURNAL_FORMAT, seq: 0, rollbackCount: 0 };
}

export interface JournalOptions {
  /**
   * Test hook (crash-recovery tests): when the step just journalled is named here, the process
   * SIGKILLs itself right after the write reached the disk, before the step takes effect.
   */
  crashAt?: string;
}

/** Reads and writes `stateDir/engine-journal.json`. */
export class Journal {
  readonly path: string;
  private record: JournalRecord = emptyJournal();
  private readonly crashAt: string | undefined;

  constructor(
    readonly stateDir: string,
    options: JournalOptions = {},
  ) {
    this.path = join(stateDir, JOURNAL_FILE);
    this.crashAt = options.crashAt;
  }

  /** Loads the journal; a missing file is a fresh device. */
  async load(): Promise<JournalRecord> {
    await mkdir(this.stateDir, { recursive: true });
    const bytes = await readFileIfExists(this.path);
    this.record = bytes === undefined ? emptyJournal() : parseJournal(bytes, this.path);
    return this.snapshot();
  }

  snapshot(): JournalRecord {
    return structuredClone(this.record);
  }

  /** Applies `change` and makes the result durable before returning. */
  async update(change: (record: JournalRecord) => void): Promise<JournalRecord> {
    const next = structuredClone(this.record);
    change(next);
    next.seq = this.record.seq + 1;
    await writeFileAtomic(this.path, JSON.stringify(next, null, 2) + '\n');
    this.record = next;
    if (next.step !== undefined && next.step.name === this.crashAt) {
      process.kill(process.pid, 'SIGKILL');
    }
    return this.snapshot();
  }

  /** Journals `step` as the transition about to happen. */
  begin(step: JournalStep, change?: (record: JournalRecord) => void): Promise<JournalRecord> {
    return this.update((r) => {
      r.step = step;
      change?.(r);
    });
  }
}

export function parseJournal(bytes: Buffer, path = JOURNAL_FILE): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MinerhaulError('E_CONFIG', `engine journal ${path} is not JSON`, { cause: err });
  }
  const r = value as Partial<JournalRecord> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    r.format !== JOURNAL_FORMAT ||
    typeof r.seq !== 'number' ||
    typeof r.rollbackCount !== 'number' ||
    (r.step !== undefined && !JOURNAL_STEP_NAMES.includes(r.step.name)) ||
    (r.current !== undefined && !isRelease(r.current)) ||
    (r.previous !== undefined && !isRelease(r.previous))
  ) {
    throw new MinerhaulError('E_CONFIG', `engine journal ${path} has an unknown format`, {
      details: { path },
    });
  }
  return r as JournalRecord;
}

function isRelease(value: unknown): boolean {
  const r = value as Partial<StagedRelease> | null;
  return (
    r !== null &&
    typeof r === 'object' &&
    typeof r.digest === 'string' &&
    typeof r.manifestDigest === 'string' &&
    typeof r.version === 'string' &&
    typeof r.sequence === 'number' &&
    Array.isArray(r.blobs)
  );
}
