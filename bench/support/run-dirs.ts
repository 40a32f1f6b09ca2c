import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Directories never used before, one per run, all under `parent` and removed together at the end.
 * ext4 skips inodes freed in the last ~30 s when it allocates new ones (recently_deleted(), bounded
 * by dirty_expire_centisecs), so creating thousands of files right after deleting a previous run's
 * thousands cost up to ~1 ms per file here, for every contender and by chance. A device deletes an
 * old release after an update, not just before the next one.
 */
export class RunDirs {
  private count = 0;

  /** Starts empty: whatever an interrupted bench left is removed now, not between runs. */
  constructor(readonly parent: string) {
    rmSync(parent, { recursive: true, force: true });
  }

  next(name = 'run'): string {
    const dir = join(this.parent, `${name}-${this.count++}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  removeAll(): void {
    rmSync(this.parent, { recursive: true, force: true });
  }
}
