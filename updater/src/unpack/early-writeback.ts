import { close, fdatasync } from 'node:fs';
import { promisify } from 'node:util';

const fdatasyncP = promisify(fdatasync);
const closeP = promisify(close);

/**
 * Starts the disk writeback of big files as they are closed (fdatasync on the thread pool) so the
 * release's final syncfs (docs/decisions/0305) finds little dirty data. Never makes the writer
 * wait: with `limit` flushes running, a file is just closed and left to the syncfs. Nor the layer:
 * flushes still running when it ends go on beside the next one, and the syncfs, which reports
 * writeback errors itself, covers them.
 */
export class EarlyWriteback {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  /** Takes ownership of `fd`; true when it is being flushed, false when the caller should close it. */
  take(fd: number): boolean {
    if (this.running.size >= this.limit || this.failure) return false;
    const job: Promise<void> = fdatasyncP(fd)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => closeP(fd).catch(() => undefined))
      .finally(() => {
        this.running.delete(job);
      });
    this.running.add(job);
    return true;
  }

  /** A flush that already failed (EIO, ENOSPC) fails the layer that notices it. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
