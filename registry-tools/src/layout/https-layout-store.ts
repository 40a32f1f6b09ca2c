import type { Readable } from 'node:stream';
import { MinerhaulError } from '@minerhaul/signing';
import type { BlobReadOptions, Descriptor, FetchedManifest, ImageStore } from '../image-store';
import { MAX_MANIFEST_BYTES } from '../manifest';
import { blobResponseStream } from '../client/blob-response';
import { isDigest, parseDigest } from '../client/digest';
import { discard, readBody } from '../client/http-transport';
import type { RegistryClient } from '../client/registry-client';
import { responseError } from '../client/registry-store';
import { blobPath, findInLayoutIndex, layoutTags, parseLayoutIndex } from './layout-index';
import { fallbackReferrers, resumeOffset, verifiedManifest } from './layout-reads';

function readOnly(): MinerhaulError {
  return new MinerhaulError(
    'E_CONFIG',
    'an OCI layout served over HTTPS is read-only: push to a registry or oci-layout:',
  );
}

/**
 * An OCI image layout served as static files (an S3 bucket, any web server): HIP3's "minerhaul over
 * S3". Read-only; index.json is fetched on every resolve (it is the poll), blobs are verified while
 * streaming and resumed with Range like registry blobs.
 */
export class HttpsLayoutStore implements ImageStore {
  readonly location: string;

  constructor(
    private readonly client: RegistryClient,
    private readonly base: string,
    readonly repository: string,
  ) {
    this.location = base;
  }

  private url(relative: string): URL {
    return new URL(`${this.base}/${relative}`);
  }

  private async fetchIndex(signal?: AbortSignal) {
    const response = await this.client.request({
      method: 'GET',
      path: this.url('index.json'),
      scopes: [],
      signal,
    });
    if (response.status === 404) {
      discard(response);
      throw new MinerhaulError('E_NOT_FOUND', `${this.base}/index.json not found: not an OCI layout`);
    }
    if (response.status !== 200) throw await responseError(response, `GET ${this.base}/index.json`);
    return parseLayoutIndex(await readBody(response, MAX_MANIFEST_BYTES), this.base);
  }

  async resolve(reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    const entry = findInLayoutIndex(await this.fetchIndex(signal), reference);
    if (entry) return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
    if (!isDigest(reference)) return undefined;
    return (await this.getManifest(reference, signal))?.descriptor;
  }

  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
    const entry = isDigest(reference)
      ? undefined
      : findInLayoutIndex(await this.fetchIndex(signal), reference);
    const digest = entry?.digest ?? (isDigest(reference) ? reference : undefined);
    if (digest === undefined) return undefined;
    parseDigest(digest);
    const response = await this.client.request({
      method: 'GET',
      path: this.url(blobPath(digest)),
      scopes: [],
      signal,
    });
    if (response.status === 404) {
      discard(response);
      return undefined;
    }
    if (response.status !== 200) throw await responseError(response, `GET manifest ${digest}`);
    const bytes = await readBody(response, MAX_MANIFEST_BYTES);
    return verifiedManifest(digest, bytes, entry, { source: 'content', checkEntrySize: false });
  }

  async openBlob(descriptor: Descriptor, options: BlobReadOptions = {}): Promise<Readable> {
    parseDigest(descriptor.digest);
    const offset = resumeOffset(descriptor, options);
    const response = await this.client.request({
      method: 'GET',
      path: this.url(blobPath(descriptor.digest)),
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: [],
      signal: options.signal,
    });
    if (response.status === 404) {
      discard(response);
      throw new MinerhaulError('E_NOT_FOUND', `${this.base}: no blob ${descriptor.digest}`);
    }
    const stream = blobResponseStream(response, descriptor, offset);
    if (!stream) throw await responseError(response, `GET blob ${descriptor.digest}`);
    return stream;
  }

  async hasBlob(descriptor: Descriptor, signal?: AbortSignal): Promise<boolean> {
    const response = await this.client.request({
      method: 'HEAD',
      path: this.url(blobPath(descriptor.digest)),
      scopes: [],
      signal,
    });
    discard(response);
    if (response.status === 200) return true;
    if (response.status === 404 || response.status === 403) return false;
    throw await responseError(response, `HEAD blob ${descriptor.digest}`);
  }

  async putBlob(): Promise<void> {
    throw readOnly();
  }

  async putManifest(): Promise<Descriptor> {
    throw readOnly();
  }

  async listTags(signal?: AbortSignal): Promise<string[]> {
    return layoutTags(await this.fetchIndex(signal));
  }

  async listReferrers(digest: string, artifactType?: string, signal?: AbortSignal): Promise<Descriptor[]> {
    return fallbackReferrers(this, digest, artifactType, signal);
  }
}
