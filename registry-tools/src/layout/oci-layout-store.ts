import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MinerhaulError } from '@minerhaul/signing';
import type { BlobReadOptions, Descriptor, FetchedManifest, ImageStore, ProgressEvent } from '../image-store';
import {
  MAX_MANIFEST_BYTES,
  MEDIA_TYPE_OCI_INDEX,
  parseManifest,
  subjectOf,
  type ImageIndex,
} from '../manifest';
import { DigestVerifier, SizeLimiter, digestOf, isDigest, parseDigest } from '../client/digest';
import { addReferrer, referrerDescriptor, referrersFallbackTag } from '../client/referrers';
import {
  OCI_LAYOUT_FILE,
  blobPath,
  emptyLayoutIndex,
  findInLayoutIndex,
  layoutTags,
  parseLayoutIndex,
  tagInLayoutIndex,
} from './layout-index';
import { fallbackReferrers, resumeOffset, verifiedManifest } from './layout-reads';

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function fsError(err: unknown, what: string): MinerhaulError {
  if (err instanceof MinerhaulError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new MinerhaulError('E_NO_SPACE', `${what}: not enough disk space`, { cause: err });
  }
  return new MinerhaulError('E_REGISTRY', `${what}: ${(err as Error).message}`, { cause: err });
}

/**
 * An OCI image layout directory (image-spec image-layout.md) as a read-write ImageStore. Blobs are
 * written to a temporary file while hashing and renamed into place only when they verify; index.json
 * is replaced atomically. Writers in one process are serialised; concurrent processes are not.
 */
export class OciLayoutStore implements ImageStore {
  readonly location: string;
  private indexLock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly repository: string = `oci-layout:${dir}`,
  ) {
    this.location = `oci-layout:${dir}`;
  }

  private path(relative: string): string {
    return join(this.dir, relative);
  }

  private async readIndex(): Promise<ImageIndex> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path('index.json'));
    } catch (err) {
      if (isMissing(err)) return emptyLayoutIndex();
      throw fsError(err, `read ${this.location}/index.json`);
    }
    return parseLayoutIndex(bytes, this.location);
  }

  private async writeAtomic(relative: string, bytes: Buffer | string): Promise<void> {
    const target = this.path(relative);
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw fsError(err, `write ${target}`);
    }
  }

  /** Create oci-layout, index.json and blobs/ on first write. */
  private async ensureLayout(algorithm = 'sha256'): Promise<void> {
    try {
      await mkdir(this.path(`blobs/${algorithm}`), { recursive: true });
      const layout = await readFile(this.path('oci-layout'), 'utf8').catch((err: unknown) => {
        if (isMissing(err)) return undefined;
        throw err;
      });
      if (layout === undefined) await this.writeAtomic('oci-layout', OCI_LAYOUT_FILE);
      else if ((JSON.parse(layout) as { imageLayoutVersion?: string }).imageLayoutVersion !== '1.0.0') {
        throw new MinerhaulError('E_CONFIG', `${this.location}: unsupported oci-layout version`);
      }
      await stat(this.path('index.json')).catch(async (err: unknown) => {
        if (!isMissing(err)) throw err;
        await this.writeAtomic('index.json', JSON.stringify(emptyLayoutIndex()));
      });
    } catch (err) {
      throw fsError(err, `prepare ${this.location}`);
    }
  }

  /** Serialise read-modify-write of index.json within this process. */
  private updateIndex(
    change: (index: ImageIndex) => ImageIndex | undefined | Promise<ImageIndex | undefined>,
  ): Promise<void> {
    const run = this.indexLock.then(async () => {
      const next = await change(await this.readIndex());
      if (next) await this.writeAtomic('index.json', JSON.stringify(next));
    });
    this.indexLock = run.catch(() => undefined);
    return run;
  }

  async resolve(reference: string): Promise<Descriptor | undefined> {
    const entry = findInLayoutIndex(await this.readIndex(), reference);
    if (entry) return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
    if (!isDigest(reference)) return undefined;
    // Any manifest blob is reachable by digest, even when index.json does not list it.
    return (await this.getManifest(reference))?.descriptor;
  }

  async getManifest(reference: string): Promise<FetchedManifest | undefined> {
    const entry = findInLayoutIndex(await this.readIndex(), reference);
    const digest = entry?.digest ?? (isDigest(reference) ? reference : undefined);
    if (digest === undefined) return undefined;
    parseDigest(digest);
    let bytes: Buffer;
    try {
      const info = await stat(this.path(blobPath(digest)));
      if (info.size > MAX_MANIFEST_BYTES) {
        throw new MinerhaulError(
          'E_REGISTRY',
          `manifest ${digest} is over the ${MAX_MANIFEST_BYTES} byte cap`,
        );
      }
      bytes = await readFile(this.path(blobPath(digest)));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw fsError(err, `read manifest ${digest}`);
    }
    return verifiedManifest(digest, bytes, entry, { source: 'file', checkEntrySize: true });
  }

  async openBlob(descriptor: Descriptor, options: BlobReadOptions = {}): Promise<Readable> {
    parseDigest(descriptor.digest);
    const offset = resumeOffset(descriptor, options);
    let handle;
    try {
      handle = await open(this.path(blobPath(descriptor.digest)), 'r');
    } catch (err) {
      if (isMissing(err))
        throw new MinerhaulError('E_NOT_FOUND', `${this.location}: no blob ${descriptor.digest}`);
      throw fsError(err, `open blob ${descriptor.digest}`);
    }
    const source = createReadStream('', {
      fd: handle,
      start: offset,
      highWaterMark: 1 << 20,
      signal: options.signal,
    });
    const verifier =
      offset > 0 ? new SizeLimiter(descriptor, descriptor.size - offset) : new DigestVerifier(descriptor);
    pipeline(source, verifier).catch(() => undefined);
    return verifier;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    parseDigest(descriptor.digest);
    try {
      return (await stat(this.path(blobPath(descriptor.digest)))).size === descriptor.size;
    } catch (err) {
      if (isMissing(err)) return false;
      throw fsError(err, `stat blob ${descriptor.digest}`);
    }
  }

  async putBlob(
    descriptor: Descriptor,
    openSource: () => Readable | Promise<Readable>,
    options: { signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void } = {},
  ): Promise<void> {
    const { algorithm } = parseDigest(descriptor.digest);
    if (await this.hasBlob(descriptor)) {
      options.onProgress?.({
        digest: descriptor.digest,
        transferred: descriptor.size,
        total: descriptor.size,
      });
      return;
    }
    await this.ensureLayout(algorithm);
    const target = this.path(blobPath(descriptor.digest));
    const tmp = join(dirname(target), `.tmp-${randomBytes(6).toString('hex')}`);
    let transferred = 0;
    // Created before anything can fail: a write stream opening its file lazily could create it
    // after a failed pipeline's unlink below, leaving a stray temporary file (seen in CI).
    const file = await open(tmp, 'wx', 0o644);
    try {
      const source = await openSource();
      // A stream that already verifies this very descriptor (another store's openBlob) is not hashed twice:
      // it still errors on mismatch, which fails the pipeline and discards the temporary file.
      const verifier =
        source instanceof DigestVerifier && source.verifies(descriptor)
          ? source
          : new DigestVerifier(descriptor);
      if (options.onProgress) {
        const onProgress = options.onProgress;
        verifier.on('data', (chunk: Buffer) => {
          transferred += chunk.length;
          onProgress({ digest: descriptor.digest, transferred, total: descriptor.size });
        });
      }
      const stages = verifier === source ? [source] : [source, verifier];
      await pipeline([...stages, file.createWriteStream()], {
        signal: options.signal,
      });
      await rename(tmp, target);
    } catch (err) {
      // Never keep content that did not verify (E_DIGEST) or was cut short.
      await file.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw fsError(err, `write blob ${descriptor.digest}`);
    }
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor> {
    const parsed = parseManifest(bytes, mediaType);
    const descriptor: Descriptor = {
      mediaType: parsed.mediaType,
      digest: digestOf(bytes),
      size: bytes.length,
    };
    await this.writeManifestBlob(descriptor, bytes);
    if (tag !== undefined) await this.updateIndex((index) => tagInLayoutIndex(index, descriptor, tag));
    const subject = subjectOf(parsed);
    if (subject) await this.addToFallback(subject.digest, referrerDescriptor(descriptor, bytes));
    return descriptor;
  }

  private async writeManifestBlob(descriptor: Descriptor, bytes: Buffer): Promise<void> {
    if (await this.hasBlob(descriptor)) return;
    await this.ensureLayout();
    await this.writeAtomic(blobPath(descriptor.digest), bytes);
  }

  /** The referrers fallback tag, kept in index.json like any tag (distribution-spec "Referrers Tag Schema"). */
  private async addToFallback(subject: string, entry: Descriptor): Promise<void> {
    const tag = referrersFallbackTag(subject);
    // Read-modify-write inside the index lock so concurrent signers do not drop each other's entry.
    await this.updateIndex(async (index) => {
      const current = findInLayoutIndex(index, tag);
      let existing;
      if (current) {
        const fetched = await this.getManifest(current.digest);
        const parsed = fetched && parseManifest(fetched.bytes, current.mediaType);
        if (!parsed || parsed.kind !== 'index') {
          throw new MinerhaulError('E_REGISTRY', `referrers fallback tag ${tag} does not hold an index`);
        }
        existing = parsed.index;
      }
      const next = addReferrer(existing, entry);
      if (next === undefined) return undefined;
      const descriptor: Descriptor = {
        mediaType: MEDIA_TYPE_OCI_INDEX,
        digest: digestOf(next),
        size: next.length,
      };
      await this.writeManifestBlob(descriptor, next);
      return tagInLayoutIndex(index, descriptor, tag);
    });
  }

  async listTags(): Promise<string[]> {
    return layoutTags(await this.readIndex());
  }

  async listReferrers(digest: string, artifactType?: string): Promise<Descriptor[]> {
    return fallbackReferrers(this, digest, artifactType);
  }
}
