import { createHash, type Hash } from 'node:crypto';
import { setImmediate as setImmediateP } from 'node:timers/promises';
import { BLOCK, isZeroBlock, parseHeader, parsePax, type EntryKind, type PaxOverrides } from './tar-header';
import { unsafeArchive } from './unpack-errors';

/** One archive member after GNU long-name and PAX overrides have been applied. */
export interface TarEntry {
  kind: EntryKind;
  path: string;
  linkPath: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Extended attribute names the archive carried (all dropped, docs/decisions/0302). */
  xattrs: string[];
}

export interface TarReaderLimits {
  /** Cap on uncompressed bytes (the whole tar stream, padding included). */
  maxBytes: number;
  /** Cap on a PAX or GNU long-name record; real ones are a few hundred bytes. */
  maxMetaBytes: number;
  /** Called with the running uncompressed byte count, e.g. for the decompression-ratio check. */
  onBytes?: (total: number) => void;
}

/**
 * Streaming tar reader over decompressed chunks. It hashes every byte it pulls (the diff_id is the
 * sha256 of the uncompressed stream, IS config.md §Layer DiffID), so nothing is hashed twice, and it
 * hands out entry data as zero-copy slices of the decompressor's buffers.
 */
export class TarReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private readonly hash: Hash = createHash('sha256');
  private chunk: Buffer = Buffer.alloc(0);
  private offset = 0;
  private ended = false;
  private total = 0;
  /** Data bytes and padding of the current entry not yet consumed. */
  private pendingBody = 0;
  private pendingPad = 0;
  private finished = false;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly limits: TarReaderLimits,
  ) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Uncompressed bytes pulled so far. */
  get bytesRead(): number {
    return this.total;
  }

  /** Next entry, or undefined at the end of the archive. The previous entry's body is skipped if unread. */
  async next(): Promise<TarEntry | undefined> {
    await this.skipBody();
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: PaxOverrides | undefined;
    for (;;) {
      const block = await this.readBlock();
      if (block === undefined || isZeroBlock(block)) return undefined; // end of archive (one zero block suffices)
      const header = parseHeader(block);
      if (header.size > this.limits.maxBytes - this.total) {
        throw unsafeArchive('tar entry declares more bytes than the layer may hold', {
          name: header.name,
          size: header.size,
        });
      }
      if (
        header.kind === 'pax' ||
        header.kind === 'pax-global' ||
        header.kind === 'gnu-long-name' ||
        header.kind === 'gnu-long-link'
      ) {
        if (header.size > this.limits.maxMetaBytes) {
          throw unsafeArchive('oversized tar metadata record', { kind: header.kind, size: header.size });
        }
        const data = await this.readMeta(header.size);
        if (header.kind === 'pax') pax = parsePax(data);
        else if (header.kind === 'pax-global')
          parsePax(data); // validated, then ignored: globals never set paths (§5.5 item 14)
        else if (header.kind === 'gnu-long-name') longName = cString(data);
        else longLink = cString(data);
        continue;
      }
      const size = pax?.size ?? header.size;
      if (size > this.limits.maxBytes - this.total) {
        throw unsafeArchive('tar entry declares more bytes than the layer may hold', {
          name: header.name,
          size,
        });
      }
      const entry: TarEntry = {
        kind: header.kind,
        path: pax?.path ?? longName ?? header.name,
        linkPath: pax?.linkPath ?? longLink ?? header.linkName,
        // Only regular files carry data; a size on anything else is skipped, never written.
        size,
        mode: header.mode,
        uid: pax?.uid ?? header.uid,
        gid: pax?.gid ?? header.gid,
        mtime: pax?.mtime ?? header.mtime,
        xattrs: pax?.xattrs ?? [],
      };
      this.pendingBody = size;
      this.pendingPad = (BLOCK - (size % BLOCK)) % BLOCK;
      return entry;
    }
  }

  /**
   * Streams the current entry's data to `sink` as slices; `sink` may be async (backpressure). Slices
   * must not be retained after the returned promise settles unless copied.
   */
  async readBody(sink: (slice: Buffer) => void | Promise<void>): Promise<void> {
    while (this.pendingBody > 0) {
      if (this.offset >= this.chunk.length && !(await this.pull())) {
        throw unsafeArchive('tar stream truncated inside an entry');
      }
      const take = Math.min(this.chunk.length - this.offset, this.pendingBody);
      const slice = this.chunk.subarray(this.offset, this.offset + take);
      this.offset += take;
      this.pendingBody -= take;
      const r = sink(slice);
      if (r !== undefined) await r;
    }
    await this.skipPad();
  }

  /**
   * If the current entry's data (rest of it) is already buffered, returns it without copying and
   * consumes it; otherwise undefined. Lets small files be written with a single call.
   */
  takeBufferedBody(): Buffer | undefined {
    const available = this.chunk.length - this.offset;
    if (this.pendingBody > available) return undefined;
    const slice = this.chunk.subarray(this.offset, this.offset + this.pendingBody);
    this.offset += this.pendingBody;
    this.pendingBody = 0;
    return slice;
  }

  /** Skips whatever is left of the current entry. */
  async skipBody(): Promise<void> {
    while (this.pendingBody > 0) {
      if (this.offset >= this.chunk.length && !(await this.pull())) {
        throw unsafeArchive('tar stream truncated inside an entry');
      }
      const take = Math.min(this.chunk.length - this.offset, this.pendingBody);
      this.offset += take;
      this.pendingBody -= take;
    }
    await this.skipPad();
  }

  /**
   * Reads the rest of the stream (trailing zero blocks and any padding after the end marker, which
   * GNU tar emits and umoci tolerates) so the digest covers every byte; returns `sha256:<hex>`.
   */
  async finish(): Promise<string> {
    if (!this.finished) {
      this.finished = true;
      this.offset = this.chunk.length;
      while (await this.pull()) this.offset = this.chunk.length;
    }
    return `sha256:${this.hash.digest('hex')}`;
  }

  private async skipPad(): Promise<void> {
    while (this.pendingPad > 0) {
      if (this.offset >= this.chunk.length && !(await this.pull())) {
        throw unsafeArchive('tar stream truncated inside an entry');
      }
      const take = Math.min(this.chunk.length - this.offset, this.pendingPad);
      this.offset += take;
      this.pendingPad -= take;
    }
  }

  private async readMeta(size: number): Promise<Buffer> {
    this.pendingBody = size;
    this.pendingPad = (BLOCK - (size % BLOCK)) % BLOCK;
    const parts: Buffer[] = [];
    await this.readBody((slice) => {
      parts.push(Buffer.from(slice)); // copied: metadata outlives the decompressor's buffer
    });
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
  }

  /** Next 512-byte block, or undefined when the stream ends cleanly on a block boundary. */
  private async readBlock(): Promise<Buffer | undefined> {
    const available = this.chunk.length - this.offset;
    if (available >= BLOCK) {
      const block = this.chunk.subarray(this.offset, this.offset + BLOCK);
      this.offset += BLOCK;
      return block;
    }
    const block = Buffer.alloc(BLOCK);
    let filled = 0;
    while (filled < BLOCK) {
      if (this.offset >= this.chunk.length && !(await this.pull())) {
        if (filled === 0) return undefined;
        throw unsafeArchive('tar stream truncated inside a header');
      }
      const take = Math.min(this.chunk.length - this.offset, BLOCK - filled);
      this.chunk.copy(block, filled, this.offset, this.offset + take);
      this.offset += take;
      filled += take;
    }
    return block;
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    // Buffered chunks would be handed over in microtasks only, starving the decompressor, whose
    // thread-pool jobs need a turn of the event loop to be collected and restarted: yielding once
    // per chunk keeps it decompressing the next chunk while this one is written.
    await setImmediateP();
    for (;;) {
      const r = await this.iterator.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      const chunk = r.value;
      if (chunk.length === 0) continue;
      this.total += chunk.length;
      if (this.total > this.limits.maxBytes) {
        throw unsafeArchive('layer exceeds the uncompressed size limit', { maxBytes: this.limits.maxBytes });
      }
      this.limits.onBytes?.(this.total);
      this.hash.update(chunk);
      this.chunk = chunk;
      this.offset = 0;
      return true;
    }
  }
}

function cString(data: Buffer): string {
  const end = data.indexOf(0);
  return data.toString('utf8', 0, end === -1 ? data.length : end);
}
