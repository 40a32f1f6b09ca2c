import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, FetchedManifest, ImageStore } from '../../src/image-store';
import { parseManifest, referrersFallbackTag } from '../../src';

/**
 * A minimal in-memory ImageStore for unit tests, behaving like a registry WITHOUT the referrers API
 * whose client does not maintain the fallback tag: listReferrers only reads the `sha256-<hex>` tag.
 * It verifies digests on put, like a registry does, and counts uploads.
 */
export class MemoryStore implements ImageStore {
  readonly location = 'memory';
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly tags = new Map<string, string>();
  readonly uploads: string[] = [];

  constructor(readonly repository = 'example.org/miner') {}

  async resolve(reference: string): Promise<Descriptor | undefined> {
    return (await this.getManifest(reference))?.descriptor;
  }

  async getManifest(reference: string): Promise<FetchedManifest | undefined> {
    const digest = this.tags.get(reference) ?? reference;
    const m = this.manifests.get(digest);
    if (m === undefined) return undefined;
    return { descriptor: { mediaType: m.mediaType, digest, size: m.bytes.length }, bytes: m.bytes };
  }

  async openBlob(d: Descriptor): Promise<Readable> {
    const bytes = this.blobs.get(d.digest);
    if (bytes === undefined) throw new MinerhaulError('E_NOT_FOUND', `blob ${d.digest} not found`);
    return Readable.from([bytes]);
  }

  async hasBlob(d: Descriptor): Promise<boolean> {
    return this.blobs.has(d.digest);
  }

  async putBlob(d: Descriptor, open: () => Readable | Promise<Readable>): Promise<void> {
    if (this.blobs.has(d.digest)) return;
    const chunks: Buffer[] = [];
    for await (const c of await open()) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    if (digestOf(bytes) !== d.digest) throw new MinerhaulError('E_DIGEST', `blob does not match ${d.digest}`);
    this.uploads.push(d.digest);
    this.blobs.set(d.digest, bytes);
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor> {
    parseManifest(bytes, mediaType);
    const digest = digestOf(bytes);
    this.manifests.set(digest, { bytes, mediaType });
    if (tag !== undefined) this.tags.set(tag, digest);
    return { mediaType, digest, size: bytes.length };
  }

  async listTags(): Promise<string[]> {
    return [...this.tags.keys()].sort();
  }

  async listReferrers(digest: string, artifactType?: string): Promise<Descriptor[]> {
    const got = await this.getManifest(referrersFallbackTag(digest));
    if (got === undefined) return [];
    const parsed = parseManifest(got.bytes, got.descriptor.mediaType);
    if (parsed.kind !== 'index') return [];
    return parsed.index.manifests.filter(
      (m) => artifactType === undefined || m.artifactType === artifactType,
    );
  }
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
