import { readFile, stat } from 'node:fs/promises';
import { processAlive } from '../util/process-alive';

/** What the agent concluded about the miner's update lock. */
export type LockVerdict =
  | { state: 'free' }
  | { state: 'held'; since: number; holderPid?: number }
  | { state: 'stale'; reason: 'holder-gone' | 'too-old' | 'deferred-too-long' };

export interface UpdateLockOptions {
  path: string;
  /** The longest the lock may defer one update, and the age after which a lock file is stale. */
  maxDeferMs: number;
  now: () => number;
  /** Whether a process exists (injected for tests; default kill(pid, 0)). */
  isAlive?: (pid: number) => boolean;
}

/**
 * The miner's update lock: while the miner holds a lock file (e.g. during a critical write), the
 * agent defers the swap. The file may hold the holder's pid (as text or JSON {"pid": N}). A lock never
 * defers forever: it is stale when its holder is gone, when the file is older than maxDefer, or when
 * this agent has already deferred the pending update for maxDefer (balena fleets froze on stale
 * update locks: docs/decisions/0503-update-lock.md).
 */
export class UpdateLock {
  private deferringSince: number | undefined;

  constructor(private readonly options: UpdateLockOptions) {}

  async inspect(): Promise<LockVerdict> {
    let mtimeMs: number;
    let text: string;
    try {
      const info = await stat(this.options.path);
      mtimeMs = info.mtimeMs;
      text = info.isFile() ? await readFile(this.options.path, 'utf8') : '';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.deferringSince = undefined;
        return { state: 'free' };
      }
      throw err;
    }
    const now = this.options.now();
    const pid = parsePid(text);
    const alive = this.options.isAlive ?? processAlive;
    if (pid !== undefined && !alive(pid)) return { state: 'stale', reason: 'holder-gone' };
    if (now - mtimeMs > this.options.maxDeferMs) return { state: 'stale', reason: 'too-old' };
    this.deferringSince ??= now;
    if (now - this.deferringSince >= this.options.maxDeferMs)
      return { state: 'stale', reason: 'deferred-too-long' };
    return pid === undefined
      ? { state: 'held', since: mtimeMs }
      : { state: 'held', since: mtimeMs, holderPid: pid };
  }

  /** Forget the deferral clock once the update went through. */
  reset(): void {
    this.deferringSince = undefined;
  }
}

function parsePid(text: string): number | undefined {
  const trimmed = text.trim();
  let candidate: unknown = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      candidate = (JSON.parse(trimmed) as { pid?: unknown }).pid;
    } catch {
      return undefined;
    }
  }
  const pid = typeof candidate === 'number' ? candidate : Number.parseInt(String(candidate), 10);
  return Number.isInteger(pid) && pid > 0 && String(candidate).trim() === String(pid) ? pid : undefined;
}
