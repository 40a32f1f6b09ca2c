import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, FetchedManifest, ImageStore } from '../image-store';
import { isIndexMediaType, isManifestMediaType, parseManifest } from '../manifest';
import { type TransferProgress, silentProgress } from '../progress';
import { ensureReferrerListed } from '../statements/referrers-fallback';

export interface CopyOptions {
  /** Tag or digest in the source. */
  reference: string;
  /** Tag in the destination; none = by digest only. */
  tag?: string;
  /** Carry the referrers (signatures) of the top-level digest along; default true. */
  signatures?: boolean;
  /** Source repository on the same registry, for cross-repository mounts (distribution-spec "Mounting a blob"). */
  mountFrom?: string;
  progress?: TransferProgress;
  /** Blobs moved at once; a few streams keep a loopback link busy without starving 2 cores. */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface CopyResult {
  descriptor: Descriptor;
  blobs: number;
  manifests: number;
  referrers: number;
}

/**
 * Copies an image between any two stores: blobs first (the destination skips those it has), then
 * child manifests, then the top-level manifest or index under its tag, then its referrers. Every
 * manifest is copied byte for byte, so every digest stays the same.
 */
export async function copyImage(src: ImageStore, dst: ImageStore, options: CopyOptions): Promise<CopyResult> {
  const top = await src.getManifest(options.reference, options.signal);
  if (top === undefined) {
    throw new MinerhaulError('E_NOT_FOUND', `${options.reference} not found in ${src.location}`);
  }
  const copier = new Copier(src, dst, options);
  try {
    await copier.copyTree(top, options.tag);
    let referrers = 0;
    if (options.signatures !== false) referrers = await copier.copyReferrers(top.descriptor);
    return {
      descriptor: top.descriptor,
      blobs: copier.blobCount,
      manifests: copier.manifestCount,
      referrers,
    };
  } catch (err) {
    // Stop the other transfers at once instead of letting them run on behind the error.
    copier.abort(err);
    throw err;
  } finally {
    copier.dispose();
    (options.progress ?? silentProgress).close();
  }
}

class Copier {
  blobCount = 0;
  manifestCount = 0;
  private readonly blobs = new Map<string, Promise<void>>();
  private readonly progress: TransferProgress;
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Aborted by the caller's signal or by the first failure; every request carries it. */
  private readonly controller = new AbortController();
  private readonly forwardAbort = (): void => this.controller.abort(this.options.signal?.reason);

  constructor(
    private readonly src: ImageStore,
    private readonly dst: ImageStore,
    private readonly options: CopyOptions,
  ) {
    this.progress = options.progress ?? silentProgress;
    this.limit = Math.max(1, Math.min(8, options.concurrency ?? 3));
    if (options.signal?.aborted) this.forwardAbort();
    else options.signal?.addEventListener('abort', this.forwardAbort, { once: true });
  }

  abort(reason: unknown): void {
    this.controller.abort(reason);
  }

  dispose(): void {
    this.options.signal?.removeEventListener('abort', this.forwardAbort);
  }

  /** Copies a manifest or index and everything below it; puts it under `tag` last. */
  async copyTree(fetched: FetchedManifest, tag?: string, depth = 0): Promise<void> {
    if (depth > 4) throw new MinerhaulError('E_REGISTRY', 'image indexes nested too deeply');
    const parsed = parseManifest(fetched.bytes, fetched.descriptor.mediaType);
    if (parsed.kind === 'index') {
      // Children in parallel: the blob pool bounds the real concurrency.
      await Promise.all(parsed.index.manifests.map((child) => this.copyChild(child, depth)));
    } else {
      const m = parsed.manifest;
      await Promise.all([m.config, ...m.layers].map((d) => this.copyBlob(d)));
    }
    await this.dst.putManifest(fetched.bytes, parsed.mediaType, tag, this.signal);
    this.manifestCount++;
  }

  private async copyChild(child: Descriptor, depth: number): Promise<void> {
    if (!isIndexMediaType(child.mediaType) && !isManifestMediaType(child.mediaType)) {
      throw new MinerhaulError('E_REGISTRY', `cannot copy index entry of type ${child.mediaType}`);
    }
    const got = await this.src.getManifest(child.digest, this.signal);
    if (got === undefined) {
      throw new MinerhaulError(
        'E_NOT_FOUND',
        `manifest ${child.digest} is missing from ${this.src.location}`,
      );
    }
    await this.copyTree(got, undefined, depth + 1);
  }

  /** Referrers of `subject` (signatures and other artifacts), each made visible in the destination. */
  async copyReferrers(subject: Descriptor): Promise<number> {
    const referrers = await this.src.listReferrers(subject.digest, undefined, this.signal);
    const seen = new Set<string>();
    for (const ref of referrers) {
      if (seen.has(ref.digest)) continue;
      seen.add(ref.digest);
      const got = await this.src.getManifest(ref.digest, this.signal);
      if (got === undefined) continue; // deleted since it was listed
      await this.copyTree(got);
      await ensureReferrerListed(this.dst, subject.digest, ref, this.signal);
    }
    return seen.size;
  }

  private copyBlob(d: Descriptor): Promise<void> {
    const existing = this.blobs.get(d.digest);
    if (existing) return existing; // e.g. the --common layer, shared by every platform
    const task = this.withSlot(async () => {
      this.signal.throwIfAborted(); // queued behind a transfer that failed: do not start
      this.progress.start(d);
      try {
        await this.dst.putBlob(d, () => this.src.openBlob(d, this.signalOption()), {
          ...this.signalOption(),
          onProgress: (e) => this.progress.update(e),
          ...(this.options.mountFrom !== undefined ? { mountFrom: this.options.mountFrom } : {}),
        });
      } catch (err) {
        // Abort before the slot is released, so the next queued transfer sees it.
        this.controller.abort(err);
        throw err;
      }
      this.blobCount++;
      this.progress.done(d);
    });
    this.blobs.set(d.digest, task);
    return task;
  }

  private signalOption(): { signal: AbortSignal } {
    return { signal: this.controller.signal };
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
