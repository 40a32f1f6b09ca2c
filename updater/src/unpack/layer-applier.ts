import {
  constants,
  promises as fsp,
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  openSync,
  writeSync,
} from 'node:fs';
import { entryComponents } from './entry-path';
import type { EarlyWriteback } from './early-writeback';
import { ParallelWriter, writeSmallFile } from './parallel-writer';
import { lstatOrUndefined, RootResolver } from './root-resolver';
import type { TarEntry, TarReader } from './tar-reader';
import { unsafeArchive } from './unpack-errors';

/** Owner given to everything unpacked; never taken from the archive (docs/decisions/0301). */
export interface UnpackOwner {
  uid: number;
  gid: number;
}

/** An entry that was not materialised, and why (devices, FIFOs, the root's own metadata). */
export interface SkippedEntry {
  path: string;
  reason: 'device' | 'fifo' | 'root-metadata';
}

export interface ApplyStats {
  entries: number;
  bytesWritten: number;
  skipped: SkippedEntry[];
  droppedXattrs: number;
  whiteouts: number;
}

export interface LayerApplierOptions {
  owner?: UnpackOwner;
  maxEntries: number;
  /** Called with the number of file bytes just written (free-space guard). */
  onWritten?: (bytes: number) => Promise<void> | undefined;
  /**
   * Write small files with synchronous calls like big ones instead of queueing them on the thread
   * pool: on the unpack worker's own thread that saves four pool hand-offs per file (0307).
   */
  syncWrites?: boolean;
  /**
   * Flush big files as they close (early-writeback.ts). Shared by the layers of an image: its
   * flushes outlive the layer, and the caller's final sync of the tree covers whatever is left.
   */
  writeback?: EarlyWriteback;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const MAX_SKIPPED_LISTED = 100;
/** Files up to this size whose data is already in memory are written concurrently. */
const PARALLEL_MAX = 1024 * 1024;
/** Concurrent small-file writes (libuv's pool has 4 threads, shared with zlib). */
const PARALLEL_WRITES = 8;
/** Files from this size on are flushed as they close (early-writeback.ts). */
const WRITEBACK_MIN = 1024 * 1024;
/** Read once (Node has no side-effect-free getter); lets most files skip an fchmod after open. */
const UMASK = process.umask();

/**
 * Applies one layer's entries to a root directory with OCI changeset semantics (IS layer.md,
 * protocol-reference §2.6 and §5.5): confined path resolution, whiteouts and opaque whiteouts
 * that only hide lower layers, replace semantics, confined hard links, no devices or FIFOs,
 * setuid/setgid/sticky stripped, ownership never taken from the archive, directory metadata
 * applied after the layer.
 */
export class LayerApplier {
  readonly stats: ApplyStats = { entries: 0, bytesWritten: 0, skipped: [], droppedXattrs: 0, whiteouts: 0 };
  private readonly resolver: RootResolver;
  private readonly writer = new ParallelWriter(PARALLEL_WRITES);
  private readonly writeback: EarlyWriteback | undefined;
  /** Targets of queued writes: resolving a path through one of them waits for the writes first. */
  private readonly queued = new Set<string>();
  /** Real paths written by this layer: whiteouts never hide them (they only hide lower layers). */
  private readonly written = new Set<string>();
  /** Real directories with something written by this layer below them. */
  private readonly writtenAncestors = new Set<string>();
  /** Set once anything was removed: only then can a recorded directory path go through a symlink. */
  private treeChanged = false;
  /** Directory modes and mtimes applied after the layer, by real path. */
  private readonly dirMeta = new Map<string, { mode: number; mtime: number }>();
  /** Non-root unpacking needs owner rwx on directories to fill them; root does not. */
  private readonly dirModeFloor = process.getuid?.() === 0 ? 0 : 0o700;

  constructor(
    readonly root: string,
    private readonly options: LayerApplierOptions,
  ) {
    this.writeback = options.writeback;
    this.resolver = new RootResolver(root, {
      onCreateDir: (p) => this.chown(p),
      beforeLstat: (p) => (this.queued.has(p) ? this.drain() : undefined),
    });
  }

  /** Applies one entry; its body is consumed from `reader`. */
  async apply(entry: TarEntry, reader: TarReader): Promise<void> {
    this.stats.entries += 1;
    if (this.stats.entries > this.options.maxEntries) {
      throw unsafeArchive('layer has too many entries', { maxEntries: this.options.maxEntries });
    }
    this.stats.droppedXattrs += entry.xattrs.length;
    const parts = entryComponents(entry.path);
    if (parts.length === 0) {
      // The root is the release directory itself: its type can never change (umoci refuses the
      // same; CVE-2021-29136 made `/.` a symlink) and its metadata is ours, not the layer's.
      if (entry.kind !== 'dir')
        throw unsafeArchive('entry would replace the root directory', { path: entry.path });
      this.skip(entry.path, 'root-metadata');
      return;
    }
    const name = parts[parts.length - 1] as string;
    const parentParts = parts.slice(0, -1);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      await this.drain(); // removals never run beside queued writes
      await this.whiteout(parentParts, name, entry);
      return;
    }
    if (entry.kind === 'char' || entry.kind === 'block' || entry.kind === 'fifo') {
      // bubblewrap's --dev and Docker supply /dev; a device node on the host disk is an escalation
      // primitive, so they are never created (docs/decisions/0300).
      this.skip(entry.path, entry.kind === 'fifo' ? 'fifo' : 'device');
      return;
    }
    const parent = (await this.resolver.resolveDir(parentParts, true)) as string;
    const target = `${parent}/${name}`;
    if (this.written.has(target) && !(entry.kind === 'dir' && (await isDir(target)))) {
      throw unsafeArchive('duplicate entry in one layer (IS layer.md forbids it)', { path: entry.path });
    }
    const small =
      entry.kind === 'file' && entry.size <= PARALLEL_MAX && this.options.syncWrites !== true
        ? reader.takeBufferedBody()
        : undefined;
    if (small !== undefined) {
      await this.queueSmallFile(target, entry, small);
      this.markWritten(target);
      return;
    }
    // Anything else may change the tree or depend on queued files (hard links): queue empties first.
    await this.drain();
    switch (entry.kind) {
      case 'dir':
        await this.applyDir(parts, target, entry);
        break;
      case 'file':
        await this.applyFile(target, entry, reader);
        break;
      case 'symlink':
        await this.applySymlink(target, entry);
        break;
      case 'hardlink':
        await this.applyHardlink(target, entry);
        break;
    }
    this.markWritten(target);
  }

  /** Applies deferred directory modes and mtimes (after the layer, as containerd does). */
  async finish(): Promise<void> {
    await this.drain();
    // Not waited for: the next layer downloads meanwhile (a layer's last flushes took 20-40 ms).
    this.writeback?.throwIfFailed();
    for (const [path, meta] of this.dirMeta) {
      // chmod and utimes follow symlinks: apply them only where the path still is the directory
      // it was (no component replaced by a symlink later in the layer).
      if (this.treeChanged && (await fsp.realpath(path).catch(() => undefined)) !== path) continue;
      await fsp.chmod(path, (meta.mode & 0o777) | this.dirModeFloor);
      await fsp.utimes(path, meta.mtime, meta.mtime);
    }
  }

  private skip(path: string, reason: SkippedEntry['reason']): void {
    if (this.stats.skipped.length < MAX_SKIPPED_LISTED) this.stats.skipped.push({ path, reason });
  }

  /** Waits for queued writes (failing with the first error). */
  async drain(): Promise<void> {
    if (this.writer.pending === 0 && this.queued.size === 0) return;
    await this.writer.drain();
    this.queued.clear();
  }

  /** After a failure: lets queued writes finish so nothing is written after the caller cleans up. */
  async settle(): Promise<void> {
    await this.writer.settle();
    await this.writeback?.settle();
  }

  private async queueSmallFile(target: string, entry: TarEntry, data: Buffer): Promise<void> {
    const mode = entry.mode & 0o777; // setuid, setgid and sticky stripped (§5.5 item 11)
    this.queued.add(target);
    await this.writer.submit(() =>
      writeSmallFile({
        path: target,
        data,
        mode,
        mtime: entry.mtime,
        flags: CREATE_FLAGS,
        chmod: (mode & ~UMASK) !== mode,
        owner: this.options.owner,
        replace: async (p) => {
          const st = await lstatOrUndefined(p);
          if (st !== undefined) await this.remove(p, st.isDirectory() || st.isSymbolicLink());
        },
      }),
    );
    const r = this.counted(data.length);
    if (r !== undefined) await r;
  }

  private async applyDir(parts: string[], target: string, entry: TarEntry): Promise<void> {
    if (!(await tryCreate(() => fsp.mkdir(target, 0o700)))) {
      const st = await lstatOrUndefined(target);
      if (st?.isDirectory()) {
        this.resolver.remember(parts, target); // existing directory: only its metadata changes
        this.dirMeta.set(target, { mode: entry.mode, mtime: entry.mtime });
        return;
      }
      if (st !== undefined) await this.remove(target, st.isSymbolicLink());
      await fsp.mkdir(target, 0o700);
    }
    await this.chown(target);
    this.resolver.remember(parts, target);
    this.dirMeta.set(target, { mode: entry.mode, mtime: entry.mtime });
  }

  private async applyFile(target: string, entry: TarEntry, reader: TarReader): Promise<void> {
    const mode = entry.mode & 0o777; // setuid, setgid and sticky stripped (§5.5 item 11)
    let fd: number | undefined;
    await this.prepareTarget(target, () => {
      fd = tryOpenSync(target, mode);
      return fd !== undefined;
    });
    const file = fd as number;
    try {
      // Files too big to be in memory at once are written with synchronous calls straight from
      // the decompressor's buffers (1 MiB each): the decompressor keeps running on the thread pool
      // meanwhile, and a pool round trip per chunk would cost more than the write.
      const buffered = reader.takeBufferedBody();
      if (buffered !== undefined) {
        writeAllSync(file, buffered);
        await this.counted(buffered.length);
      } else {
        await reader.readBody((slice) => {
          writeAllSync(file, slice);
          return this.counted(slice.length);
        });
      }
      if ((mode & ~UMASK) !== mode) fchmodSync(file, mode); // open() applied it unless the umask cut bits
      if (this.options.owner) fchownSync(file, this.options.owner.uid, this.options.owner.gid);
      futimesSync(file, entry.mtime, entry.mtime);
    } catch (err) {
      closeSync(file);
      throw err;
    }
    if (!(entry.size >= WRITEBACK_MIN && this.writeback?.take(file))) closeSync(file);
  }

  private async applySymlink(target: string, entry: TarEntry): Promise<void> {
    if (entry.linkPath.includes('\0')) throw unsafeArchive('symlink target contains a NUL byte');
    if (entry.linkPath === '') throw unsafeArchive('symlink with an empty target', { path: entry.path });
    if (Buffer.byteLength(entry.linkPath) > 4096) throw unsafeArchive('symlink target too long');
    // Stored verbatim (§5.5 item 7): it is resolved at run time inside the sandbox, and any later
    // entry going through it is resolved inside the root by RootResolver.
    await this.prepareTarget(target, async () => tryCreate(() => fsp.symlink(entry.linkPath, target)));
    if (this.options.owner) await fsp.lchown(target, this.options.owner.uid, this.options.owner.gid);
    await fsp.lutimes(target, entry.mtime, entry.mtime);
  }

  private async applyHardlink(target: string, entry: TarEntry): Promise<void> {
    // linkname is relative to the layer root (IS layer.md §Hardlinks) and resolved like any entry.
    const linkParts = entryComponents(entry.linkPath, 'hard link target');
    if (linkParts.length === 0) throw unsafeArchive('hard link to the root directory', { path: entry.path });
    const linkParent = await this.resolver.resolveDir(linkParts.slice(0, -1), false);
    const source =
      linkParent === undefined ? undefined : `${linkParent}/${linkParts[linkParts.length - 1] as string}`;
    const st = source === undefined ? undefined : await lstatOrUndefined(source);
    if (source === undefined || st === undefined) {
      throw unsafeArchive('hard link target does not exist in the release', {
        path: entry.path,
        link: entry.linkPath,
      });
    }
    if (st.isDirectory())
      throw unsafeArchive('hard link to a directory', { path: entry.path, link: entry.linkPath });
    if (source === target) return; // a link to itself: already there
    // link(2) does not follow a final symlink on Linux, so the new name shares the symlink inode.
    await this.prepareTarget(target, async () => tryCreate(() => fsp.link(source, target)));
  }

  /**
   * Runs `create` (which returns false on EEXIST); on EEXIST applies replace semantics (IS layer.md
   * §Changeset over existing files: remove the old path, recursively for a directory) and retries once.
   */
  private async prepareTarget(target: string, create: () => boolean | Promise<boolean>): Promise<void> {
    if (await create()) return;
    const st = await lstatOrUndefined(target);
    if (st !== undefined) await this.remove(target, st.isDirectory() || st.isSymbolicLink());
    if (!(await create())) throw unsafeArchive('entry path raced with another writer', { path: target });
  }

  private async remove(path: string, invalidates: boolean): Promise<void> {
    await fsp.rm(path, { recursive: true, force: true }); // rm never follows symlinks
    if (invalidates) this.forget(path);
  }

  /** After a directory or symlink is removed: no cached resolution or pending metadata may go through it. */
  private forget(path: string): void {
    this.treeChanged = true;
    this.resolver.invalidate();
    const prefix = `${path}/`;
    for (const p of this.dirMeta.keys()) if (p === path || p.startsWith(prefix)) this.dirMeta.delete(p);
  }

  private async whiteout(parentParts: string[], name: string, entry: TarEntry): Promise<void> {
    this.stats.whiteouts += 1;
    const dir = await this.resolver.resolveDir(parentParts, false);
    if (name === OPAQUE) {
      // Opaque: hide every lower-layer child of the directory; the layer's own entries stay
      // whatever their order in the tar (IS layer.md §Opaque Whiteout).
      if (dir === undefined) return;
      for (const child of await fsp.readdir(dir)) await this.removeLower(`${dir}/${child}`);
      return;
    }
    const hidden = name.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') {
      throw unsafeArchive('invalid whiteout name', { path: entry.path });
    }
    if (dir === undefined) return;
    await this.removeLower(`${dir}/${hidden}`);
  }

  /** Removes `path` as far as lower layers made it, keeping anything this layer wrote. */
  private async removeLower(path: string): Promise<void> {
    if (this.written.has(path)) return;
    if (this.writtenAncestors.has(path)) {
      for (const child of await fsp.readdir(path)) await this.removeLower(`${path}/${child}`);
      return;
    }
    await fsp.rm(path, { recursive: true, force: true });
    this.forget(path);
  }

  private markWritten(path: string): void {
    this.written.add(path);
    let p = path;
    for (;;) {
      const slash = p.lastIndexOf('/');
      if (slash <= this.root.length) return;
      p = p.slice(0, slash);
      if (this.writtenAncestors.has(p)) return;
      this.writtenAncestors.add(p);
    }
  }

  private counted(n: number): Promise<void> | undefined {
    this.stats.bytesWritten += n;
    return this.options.onWritten?.(n);
  }

  private async chown(path: string): Promise<void> {
    if (this.options.owner) await fsp.lchown(path, this.options.owner.uid, this.options.owner.gid);
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await lstatOrUndefined(path))?.isDirectory() ?? false;
}

function tryOpenSync(path: string, mode: number): number | undefined {
  try {
    return openSync(path, CREATE_FLAGS, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
}

function writeAllSync(fd: number, data: Buffer): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done);
}

async function tryCreate(create: () => Promise<void>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
