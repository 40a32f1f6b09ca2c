import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DigestVerifier } from '@minerhaul/registry-tools';
import { isMinerhaulError, MinerhaulError } from '@minerhaul/signing';
import { fsyncDir } from '../unpack/unpack-image';
import { mapFsError } from '../unpack/unpack-errors';
import { sha256Hex } from './blob-digest';
import { ensureFreeSpace, statfsProbe, type SpaceProbe } from './free-space';

/** What the store needs to know about a blob: its digest and declared size (an OCI descriptor). */
export interface BlobRef {
  digest: string;
  size: number;
}

/** Opens the remote blob from `offset` (HTTP Range); the store hashes and size-checks what comes back. */
export type BlobSource = (blob: BlobRef, offset: number, signal?: AbortSignal) => Promise<Readable>;

export interface BlobProgress {
  digest: string;
  /** Bytes of this blob now on disk (resumed bytes included). */
  transferred: number;
  total: number;
}

export interface BlobReadOptions {
  signal?: AbortSignal;
  onProgress?: (p: BlobProgress) => void;
}

export interface GcResult {
  removed: string[];
  freedBytes: number;
}

export interface BlobStoreOptions {
  spaceProbe?: SpaceProbe;
  /** Bytes always left free on the disk (default 32 MiB). */
  reserveBytes?: number;
}

const READ_CHUNK = 1024 * 1024;

/**
 * The hotspot's content-addressed blob store, shared by all releases: an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/<hex>`, IS image-layout.md) under `root`. A blob
 * appears under its name only complete and verified: it is written to `incoming/<hex>` while
 * hashed, fsynced and renamed into place. Partial downloads stay in `incoming/` for Range resume.
 */
export class BlobStore {
  readonly blobsDir: string;
  readonly incomingDir: string;
  readonly reserveBytes: number;
  readonly spaceProbe: SpaceProbe;
  /** Verified downloads still being flushed and renamed into place, by hex digest. */
  private readonly committing = new Map<string, Promise<void>>();
  /** Every commit started since the last settle(), failed ones included. */
  private unsettled: Promise<void>[] = [];

  private constructor(
    readonly root: string,
    options: BlobStoreOptions,
  ) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.incomingDir = join(root, 'incoming');
    this.reserveBytes = options.reserveBytes ?? 32 * 1024 * 1024;
    this.spaceProbe = options.spaceProbe ?? statfsProbe;
  }

  /** Opens (creating if needed) the store at `root`. */
  static async open(root: string, options: BlobStoreOptions = {}): Promise<BlobStore> {
    const store = new BlobStore(root, options);
    await fsp.mkdir(store.blobsDir, { recursive: true, mode: 0o700 });
    await fsp.mkdir(store.incomingDir, { recursive: true, mode: 0o700 });
    await writeIfAbsent(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
    await writeIfAbsent(
      join(root, 'index.json'),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}\n',
    );
    return store;
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, sha256Hex(digest));
  }

  private partialPath(digest: string): string {
    return join(this.incomingDir, sha256Hex(digest));
  }

  async has(digest: string): Promise<boolean> {
    await this.committing.get(sha256Hex(digest))?.catch(() => undefined);
    try {
      return (await fsp.stat(this.blobPath(digest))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Bytes of a partial download kept for resume (0 if none). */
  async partialSize(digest: string): Promise<number> {
    await this.committing.get(sha256Hex(digest))?.catch(() => undefined);
    try {
      return (await fsp.stat(this.partialPath(digest))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  /** Refuses with E_NO_SPACE unless `bytes` plus the reserve are free under the store. */
  async ensureSpace(bytes: number, what: string): Promise<void> {
    await ensureFreeSpace(this.root, bytes + this.reserveBytes, what, this.spaceProbe);
  }

  /**
   * A held blob, re-hashed as it is read: a blob that rotted on disk errors with E_DIGEST and is
   * deleted (so the next attempt fetches it again). Undefined when the blob is not held.
   */
  async read(blob: BlobRef): Promise<Readable | undefined> {
    if (!(await this.has(blob.digest))) return undefined;
    return Readable.from(this.verifiedFile(blob));
  }

  /** Reads a small held blob (manifest, config) whole, verified. */
  async readBytes(blob: BlobRef): Promise<Buffer | undefined> {
    const stream = await this.read(blob);
    if (stream === undefined) return undefined;
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  /**
   * The blob's bytes for one-pass consumers: from the store when held (never fetched again),
   * otherwise from `source`, resuming a kept partial download, written to the store as they pass
   * and committed only when digest and size match. `fromStore` tells which happened.
   */
  async open(
    blob: BlobRef,
    source: BlobSource,
    options: BlobReadOptions = {},
  ): Promise<{ stream: Readable; fromStore: boolean }> {
    sha256Hex(blob.digest);
    if (await this.has(blob.digest))
      return { stream: Readable.from(this.verifiedFile(blob)), fromStore: true };
    return { stream: Readable.from(this.teeFromSource(blob, source, options)), fromStore: false };
  }

  /** Makes sure the blob is held, downloading (or resuming) it when not. Returns the bytes fetched. */
  async fetch(blob: BlobRef, source: BlobSource, options: BlobReadOptions = {}): Promise<number> {
    if (await this.has(blob.digest)) return 0;
    const before = await this.partialSize(blob.digest);
    const { stream } = await this.open(blob, source, options);
    // Drained in place: the data only needs to reach the file, which the tee does.
    for await (const _chunk of stream) void _chunk;
    await this.committing.get(sha256Hex(blob.digest));
    return blob.size - Math.min(before, blob.size);
  }

  /** Stores a small blob held in memory (manifest, config) after checking its digest. */
  async putBytes(blob: BlobRef, bytes: Buffer): Promise<void> {
    await this.fetch(blob, async () => Readable.from([bytes]));
  }

  /**
   * Waits for the downloads committed in the background (open()'s streams end as soon as the bytes
   * are verified, so the next layer downloads while this one is flushed) and throws the first
   * failure. Call it before relying on the blobs surviving a power cut.
   */
  async settle(): Promise<void> {
    const commits = this.unsettled;
    this.unsettled = [];
    const outcomes = await Promise.allSettled(commits);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Digests of every complete blob held. */
  async list(): Promise<string[]> {
    return (await fsp.readdir(this.blobsDir))
      .filter((n) => /^[a-f0-9]{64}$/.test(n))
      .map((n) => `sha256:${n}`);
  }

  /**
   * Removes every blob (and partial download) that none of `keep` references: pass the digests
   * of the current and the previous release (manifest, config, layers) — DESIGN.md lifecycle §7.
   */
  async gc(...keep: Iterable<string>[]): Promise<GcResult> {
    const keepHex = new Set<string>();
    for (const set of keep) for (const d of set) keepHex.add(sha256Hex(d));
    const result: GcResult = { removed: [], freedBytes: 0 };
    for (const dir of [this.blobsDir, this.incomingDir]) {
      for (const name of await fsp.readdir(dir)) {
        if (keepHex.has(name)) continue;
        const path = join(dir, name);
        const st = await fsp.lstat(path);
        await fsp.rm(path, { recursive: true, force: true });
        result.freedBytes += st.size;
        if (dir === this.blobsDir && /^[a-f0-9]{64}$/.test(name)) result.removed.push(`sha256:${name}`);
      }
    }
    await fsyncDir(this.blobsDir);
    return result;
  }

  private async *verifiedFile(blob: BlobRef): AsyncGenerator<Buffer> {
    const path = this.blobPath(blob.digest);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      size += buf.length;
      yield buf;
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== blob.digest || size !== blob.size) {
      await fsp.rm(path, { force: true });
      throw new MinerhaulError('E_DIGEST', `stored blob ${blob.digest} is corrupt (removed)`, {
        details: { digest: blob.digest, actual, size, expectedSize: blob.size },
      });
    }
  }

  /**
   * Resume: the kept partial bytes are replayed from disk (hashed and passed on, so the consumer
   * still sees the whole blob in one pass), then the source continues from that offset.
   */
  private async *teeFromSource(
    blob: BlobRef,
    source: BlobSource,
    options: BlobReadOptions,
  ): AsyncGenerator<Buffer> {
    const partial = this.partialPath(blob.digest);
    let have = await this.partialSize(blob.digest);
    if (have > blob.size) {
      await fsp.rm(partial, { force: true });
      have = 0;
    }
    await this.ensureSpace(blob.size - have, `blob ${blob.digest}`);
    const hash = createHash('sha256');
    let total = 0;
    const progress = (): void =>
      options.onProgress?.({ digest: blob.digest, transferred: total, total: blob.size });
    if (have > 0) {
      for await (const chunk of createReadStream(partial, { highWaterMark: READ_CHUNK, end: have - 1 })) {
        const buf = chunk as Buffer;
        hash.update(buf);
        total += buf.length;
        yield buf;
      }
      progress();
    }
    const handle = await fsp.open(partial, have > 0 ? 'a' : 'w', 0o600);
    let committed = false;
    let remote: Readable | undefined;
    let writing: Promise<unknown> = Promise.resolve();
    try {
      remote = await source(blob, have, options.signal);
      // Hash each byte once (docs/decisions/0900): a fresh download whose stream is the registry
      // client's own DigestVerifier for this very digest and size already fails with E_DIGEST before
      // its end on any mismatch, so the store's hash would only repeat it. Resumed downloads and any
      // other source are hashed here, end to end (the replayed prefix included).
      const verifiedBySource = have === 0 && sourceVerifies(remote, blob);
      for await (const chunk of remote) {
        const buf = chunk as Buffer;
        total += buf.length;
        if (total > blob.size) {
          throw new MinerhaulError(
            'E_DIGEST',
            `blob ${blob.digest} is larger than its declared ${blob.size} bytes`,
            {
              details: { digest: blob.digest },
            },
          );
        }
        if (!verifiedBySource) hash.update(buf);
        // One write in flight while the consumer decompresses and unpacks this chunk.
        await writing;
        writing = writeAll(handle, buf);
        progress();
        yield buf;
      }
      await writing;
      const actual = verifiedBySource ? blob.digest : `sha256:${hash.digest('hex')}`;
      if (total !== blob.size || actual !== blob.digest) {
        await handle.close().catch(() => undefined);
        await fsp.rm(partial, { force: true }); // wrong bytes are never resumed from
        throw new MinerhaulError('E_DIGEST', `blob ${blob.digest} does not match its digest`, {
          details: { digest: blob.digest, actual, size: total, expectedSize: blob.size },
        });
      }
      this.commitInBackground(blob, handle, partial);
      committed = true;
    } catch (err) {
      // Bytes the source itself disowned (E_DIGEST) must not be resumed from either.
      if (isMinerhaulError(err, 'E_DIGEST')) await fsp.rm(partial, { force: true });
      throw mapFsError(err, partial);
    } finally {
      if (!committed) {
        await writing.catch(() => undefined); // the partial must hold whole writes only
        await handle.close().catch(() => undefined);
      }
      remote?.destroy();
    }
  }

  /** fsync, rename into place, fsync both directories: awaited by has(), fetch() and settle(). */
  private commitInBackground(blob: BlobRef, handle: fsp.FileHandle, partial: string): void {
    const hex = sha256Hex(blob.digest);
    const commit = (async () => {
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(partial, this.blobPath(blob.digest));
      await fsyncDir(this.blobsDir);
      await fsyncDir(this.incomingDir);
    })().catch((err: unknown) => {
      throw mapFsError(err, partial);
    });
    this.committing.set(hex, commit);
    this.unsettled.push(commit);
    // Observed here so a failure waits for settle() instead of crashing the process.
    const forget = (): void => {
      if (this.committing.get(hex) === commit) this.committing.delete(hex);
    };
    commit.then(forget, forget);
  }
}

/** True when `stream` checks this exact blob from its first byte (and errors before its end if not). */
function sourceVerifies(stream: Readable, blob: BlobRef): boolean {
  return (
    stream instanceof DigestVerifier &&
    stream.verifies({ mediaType: '', digest: blob.digest, size: blob.size })
  );
}

async function writeIfAbsent(path: string, content: string): Promise<void> {
  try {
    await fsp.writeFile(path, content, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

async function writeAll(handle: fsp.FileHandle, buf: Buffer): Promise<void> {
  let done = 0;
  while (done < buf.length) done += (await handle.write(buf, done, buf.length - done)).bytesWritten;
}
