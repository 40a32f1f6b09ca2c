import { promises as fsp } from 'node:fs';
import { unsafeArchive } from './unpack-errors';

/** Symlink hops allowed while resolving one path (Linux's own limit, MAXSYMLINKS = 40). */
export const MAX_SYMLINK_HOPS = 40;

export interface ResolverOptions {
  /** Called for each directory the resolver creates (so the caller can chown it). */
  onCreateDir?: (path: string) => Promise<void>;
  /** Called before a component is examined (lets queued writes to that path land first). */
  beforeLstat?: (path: string) => Promise<void> | undefined;
}

/**
 * Resolves directory paths inside a root as if the root were `/` (protocol-reference §5.5 item 4,
 * the same walk as continuity's RootPath and filepath-securejoin): each component is lstat'ed;
 * a symlink is read and resolution continues inside the root (absolute targets restart at the
 * root, `..` is clamped at it); at most 40 hops; a non-directory in the middle is refused.
 * Results are cached per logical path; the cache must be cleared whenever a directory or a
 * symlink is removed or replaced (the CVE-2021-32803 lesson: a stale "is a directory" answer
 * lets a later entry write through a symlink).
 */
export class RootResolver {
  private readonly cache = new Map<string, string>();

  constructor(
    readonly root: string,
    private readonly options: ResolverOptions = {},
  ) {}

  /** Forget every cached resolution. */
  invalidate(): void {
    this.cache.clear();
  }

  /** Records that logical path `components` is the real directory `real` (just created or checked). */
  remember(components: readonly string[], real: string): void {
    this.cache.set(components.join('/'), real);
  }

  /**
   * Real absolute path of the directory named by `components`. With `create`, missing
   * directories are made (mode 0755); without it a missing one yields undefined.
   */
  async resolveDir(components: readonly string[], create: boolean): Promise<string | undefined> {
    if (components.length === 0) return this.root;
    const key = components.join('/');
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;

    const resolved: string[] = [];
    const queue = components.slice();
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        resolved.pop(); // clamped: popping at the root is a no-op
        continue;
      }
      const real = joinReal(this.root, resolved, part);
      const waiting = this.options.beforeLstat?.(real);
      if (waiting !== undefined) await waiting;
      const st = await lstatOrUndefined(real);
      if (st === undefined) {
        if (!create) return undefined;
        await fsp.mkdir(real, 0o755);
        await this.options.onCreateDir?.(real);
        resolved.push(part);
      } else if (st.isSymbolicLink()) {
        hops += 1;
        if (hops > MAX_SYMLINK_HOPS)
          throw unsafeArchive('too many symlink hops resolving an entry path', { path: key });
        const target = await fsp.readlink(real);
        if (target.startsWith('/')) resolved.length = 0;
        queue.unshift(...target.split('/'));
      } else if (st.isDirectory()) {
        resolved.push(part);
      } else {
        throw unsafeArchive('entry path goes through a non-directory', { path: key });
      }
    }
    const result = resolved.length === 0 ? this.root : `${this.root}/${resolved.join('/')}`;
    this.cache.set(key, result);
    return result;
  }
}

function joinReal(root: string, resolved: readonly string[], part: string): string {
  return resolved.length === 0 ? `${root}/${part}` : `${root}/${resolved.join('/')}/${part}`;
}

export async function lstatOrUndefined(path: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fsp.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
