import { close, fchmod, fchown, futimes, open, write } from 'node:fs';
import { promisify } from 'node:util';

const openP = promisify(open);
const writeP = promisify(write);
const futimesP = promisify(futimes);
const fchmodP = promisify(fchmod);
const fchownP = promisify(fchown);
const closeP = promisify(close);

/**
 * Runs small-file writes concurrently on libuv's thread pool (docs/decisions/0306): creating a
 * file is kernel work, and a second core can do it while the main thread parses the next entries.
 * The applier drains it before anything that changes the directory tree other than adding files
 * (symlinks, hard links, whiteouts, directories, replacements), so a queued write never races
 * with a path component turning into a symlink. The first failure fails the layer.
 */
export class ParallelWriter {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  get pending(): number {
    return this.inFlight.size;
  }

  /** Queues `job`; returns once it is running (waits for a free slot). */
  async submit(job: () => Promise<void>): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const running: Promise<void> = job()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.inFlight.delete(running);
      });
    this.inFlight.add(running);
  }

  /** Waits for every queued write; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    this.throwIfFailed();
  }

  /** Waits for every queued write and ignores failures (cleanup after an error). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

export interface SmallFile {
  path: string;
  data: Buffer;
  mode: number;
  mtime: number;
  flags: number;
  /** Whether an fchmod is needed after open (the umask cut mode bits). */
  chmod: boolean;
  owner?: { uid: number; gid: number };
  /** Clears the way when the name exists (replace semantics); called once. */
  replace: (path: string) => Promise<void>;
}

/** open → write → (fchmod, fchown) → futimes → close, each on the thread pool. */
export async function writeSmallFile(f: SmallFile): Promise<void> {
  let fd: number;
  try {
    fd = await openP(f.path, f.flags, f.mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await f.replace(f.path);
    fd = await openP(f.path, f.flags, f.mode);
  }
  try {
    let done = 0;
    while (done < f.data.length) done += (await writeP(fd, f.data, done, f.data.length - done)).bytesWritten;
    if (f.chmod) await fchmodP(fd, f.mode);
    if (f.owner) await fchownP(fd, f.owner.uid, f.owner.gid);
    await futimesP(fd, f.mtime, f.mtime);
  } finally {
    await closeP(fd);
  }
}
