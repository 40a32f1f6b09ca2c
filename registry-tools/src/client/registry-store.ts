import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MinerhaulError } from '@minerhaul/signing';
import type { BlobReadOptions, Descriptor, FetchedManifest, ImageStore, ProgressEvent } from '../image-store';
import {
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  MEDIA_TYPE_OCI_INDEX,
  bareMediaType,
  isIndexMediaType,
  isManifestMediaType,
  parseManifest,
  subjectOf,
} from '../manifest';
import { blobResponseStream } from './blob-response';
import { digestMismatch, digestOf, isDigest, parseDigest } from './digest';
import { discard, header, readBody, type HttpResponse } from './http-transport';
import { addReferrer, filterReferrers, referrerDescriptor, referrersFallbackTag } from './referrers';
import type { RegistryClient } from './registry-client';

export interface RegistryStoreOptions {
  /** Blobs larger than this are uploaded in chunks (default 100 MiB). */
  chunkThreshold?: number;
  /** Chunk size for chunked uploads (default 64 MiB). */
  chunkSize?: number;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_LIST_PAGES = 1000;

/** Map an unexpected response to a MinerhaulError, with the registry's error codes in details. */
export async function responseError(response: HttpResponse, what: string): Promise<MinerhaulError> {
  let codes: string[] = [];
  try {
    const body = await readBody(response, MAX_ERROR_BODY);
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string }[] };
    codes = (parsed.errors ?? []).map((e) => String(e.code));
  } catch {
    // Error bodies MAY be any format (distribution-spec "Error Codes").
  }
  const details = { status: response.status, url: response.url.pathname, codes };
  if (response.status === 404) return new MinerhaulError('E_NOT_FOUND', `${what}: not found`, { details });
  if (response.status === 401 || response.status === 403) {
    return new MinerhaulError('E_AUTH', `${what}: access refused`, { details });
  }
  return new MinerhaulError('E_REGISTRY', `${what}: HTTP ${response.status} ${codes.join(',')}`.trim(), {
    details,
  });
}

function withDigestParam(location: URL, digest: string): URL {
  // Keep the Location's critical query parameters verbatim (distribution-spec "POST then PUT").
  const sep = location.search ? '&' : '?';
  return new URL(`${location.toString()}${sep}digest=${encodeURIComponent(digest)}`);
}

function progressCounter(
  descriptor: Descriptor,
  onProgress: ((e: ProgressEvent) => void) | undefined,
  start = 0,
): Transform {
  let transferred = start;
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      transferred += chunk.length;
      onProgress?.({ digest: descriptor.digest, transferred, total: descriptor.size });
      done(null, chunk);
    },
  });
}

/** An OCI Distribution repository (distribution-spec v1.1) as an ImageStore. */
export class RegistryStore implements ImageStore {
  readonly location: string;
  private referrersApi: boolean | undefined;
  private readonly chunkThreshold: number;
  private readonly chunkSize: number;

  constructor(
    private readonly client: RegistryClient,
    private readonly name: string,
    readonly repository: string,
    options: RegistryStoreOptions = {},
  ) {
    this.location = `${client.origin.host}/${name}`;
    this.chunkThreshold = options.chunkThreshold ?? 100 * 1024 * 1024;
    this.chunkSize = options.chunkSize ?? 64 * 1024 * 1024;
  }

  private get pull(): string[] {
    return [`repository:${this.name}:pull`];
  }

  private get push(): string[] {
    return [`repository:${this.name}:pull,push`];
  }

  private manifestPath(reference: string): string {
    return `/v2/${this.name}/manifests/${reference}`;
  }

  async resolve(reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    const response = await this.client.request({
      method: 'HEAD',
      path: this.manifestPath(reference),
      headers: { accept: MANIFEST_ACCEPT },
      scopes: this.pull,
      signal,
    });
    discard(response);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw await responseError(response, `HEAD manifest ${reference}`);
    const digest = header(response, 'docker-content-digest');
    const mediaType = bareMediaType(header(response, 'content-type'));
    const size = Number(header(response, 'content-length'));
    const known = mediaType !== undefined && (isIndexMediaType(mediaType) || isManifestMediaType(mediaType));
    if (digest === undefined || !isDigest(digest) || !known || !Number.isSafeInteger(size)) {
      // Docker-Content-Digest is only SHOULD in distribution-spec v1.1.1: hash the body instead.
      return (await this.getManifest(reference, signal))?.descriptor;
    }
    if (isDigest(reference) && digest !== reference) {
      throw digestMismatch({ mediaType, digest: reference, size }, `registry answered for ${digest}`);
    }
    return { mediaType, digest, size };
  }

  async getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
    const response = await this.client.request({
      method: 'GET',
      path: this.manifestPath(reference),
      headers: { accept: MANIFEST_ACCEPT },
      scopes: this.pull,
      signal,
    });
    if (response.status === 404) {
      discard(response);
      return undefined;
    }
    if (response.status !== 200) throw await responseError(response, `GET manifest ${reference}`);
    const bytes = await readBody(response, MAX_MANIFEST_BYTES);
    // What was asked for wins; for a tag, the registry's Docker-Content-Digest (in its algorithm) is checked.
    const claimed = header(response, 'docker-content-digest');
    const expected = isDigest(reference)
      ? reference
      : claimed !== undefined && isDigest(claimed)
        ? claimed
        : undefined;
    const digest = digestOf(bytes, expected ? parseDigest(expected).algorithm : 'sha256');
    if (expected !== undefined && expected !== digest) {
      throw digestMismatch(
        { mediaType: '', digest: expected, size: bytes.length },
        `manifest hashes to ${digest}`,
      );
    }
    const parsed = parseManifest(bytes, header(response, 'content-type'));
    return { descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length }, bytes };
  }

  async openBlob(descriptor: Descriptor, options: BlobReadOptions = {}): Promise<Readable> {
    parseDigest(descriptor.digest);
    const offset = options.offset ?? 0;
    if (offset < 0 || offset > descriptor.size) {
      throw new MinerhaulError(
        'E_CONFIG',
        `resume offset ${offset} outside blob of ${descriptor.size} bytes`,
      );
    }
    const response = await this.client.request({
      method: 'GET',
      path: `/v2/${this.name}/blobs/${descriptor.digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: this.pull,
      signal: options.signal,
    });
    const stream = blobResponseStream(response, descriptor, offset);
    if (!stream) throw await responseError(response, `GET blob ${descriptor.digest}`);
    return stream;
  }

  async hasBlob(descriptor: Descriptor, signal?: AbortSignal): Promise<boolean> {
    const response = await this.client.request({
      method: 'HEAD',
      path: `/v2/${this.name}/blobs/${descriptor.digest}`,
      scopes: this.pull,
      signal,
    });
    discard(response);
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw await responseError(response, `HEAD blob ${descriptor.digest}`);
  }

  async putBlob(
    descriptor: Descriptor,
    open: () => Readable | Promise<Readable>,
    options: { signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void; mountFrom?: string } = {},
  ): Promise<void> {
    const { signal, onProgress, mountFrom } = options;
    parseDigest(descriptor.digest);
    const scopes = mountFrom ? [...this.push, `repository:${mountFrom}:pull`] : this.push;
    if (await this.hasBlob(descriptor, signal)) {
      onProgress?.({ digest: descriptor.digest, transferred: descriptor.size, total: descriptor.size });
      return;
    }
    const query = mountFrom
      ? `?mount=${encodeURIComponent(descriptor.digest)}&from=${encodeURIComponent(mountFrom)}`
      : '';
    const started = await this.client.request({
      method: 'POST',
      path: `/v2/${this.name}/blobs/uploads/${query}`,
      headers: { 'content-length': '0' },
      scopes,
      signal,
    });
    discard(started);
    if (started.status === 201 && mountFrom) {
      onProgress?.({ digest: descriptor.digest, transferred: descriptor.size, total: descriptor.size });
      return;
    }
    const location = header(started, 'location');
    if (started.status !== 202 || location === undefined) {
      throw await responseError(started, `start upload of ${descriptor.digest}`);
    }
    const session = new URL(location, started.url);
    if (descriptor.size <= this.chunkThreshold) {
      await this.putMonolithic(descriptor, session, open, scopes, signal, onProgress);
    } else {
      // Chunks other than the last SHOULD be at least OCI-Chunk-Min-Length (distribution-spec).
      const minimum = Number(header(started, 'oci-chunk-min-length'));
      const chunkSize = Number.isSafeInteger(minimum) && minimum > this.chunkSize ? minimum : this.chunkSize;
      await this.putChunked(descriptor, session, await open(), scopes, chunkSize, signal, onProgress);
    }
  }

  private async putMonolithic(
    descriptor: Descriptor,
    session: URL,
    open: () => Readable | Promise<Readable>,
    scopes: string[],
    signal: AbortSignal | undefined,
    onProgress: ((e: ProgressEvent) => void) | undefined,
  ): Promise<void> {
    const response = await this.client.request({
      method: 'PUT',
      path: withDigestParam(session, descriptor.digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(descriptor.size) },
      body: async () => {
        const source = await open();
        const counter = progressCounter(descriptor, onProgress);
        pipeline(source, counter).catch((err: unknown) => counter.destroy(err as Error));
        return counter;
      },
      scopes,
      signal,
    });
    discard(response);
    if (response.status !== 201) throw await responseError(response, `upload ${descriptor.digest}`);
  }

  /** PATCH chunks with Content-Range (no `bytes ` prefix: distribution-spec "Pushing a blob in chunks"). */
  private async putChunked(
    descriptor: Descriptor,
    session: URL,
    source: Readable,
    scopes: string[],
    chunkSize: number,
    signal: AbortSignal | undefined,
    onProgress: ((e: ProgressEvent) => void) | undefined,
  ): Promise<void> {
    const iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let pending: Buffer | undefined;
    async function* take(length: number): AsyncGenerator<Buffer> {
      let need = length;
      while (need > 0) {
        let chunk = pending;
        pending = undefined;
        if (chunk === undefined) {
          const next = await iterator.next();
          if (next.done) throw digestMismatch(descriptor, 'source ended before the declared size');
          chunk = next.value;
        }
        if (chunk.length > need) {
          pending = chunk.subarray(need);
          chunk = chunk.subarray(0, need);
        }
        need -= chunk.length;
        yield chunk;
      }
    }
    let location = session;
    let offset = 0;
    try {
      while (offset < descriptor.size) {
        const length = Math.min(chunkSize, descriptor.size - offset);
        const body = progressCounter(descriptor, onProgress, offset);
        // pipeline, not pipe: a short source must fail the PATCH, not hang it.
        pipeline(Readable.from(take(length)), body).catch(() => undefined);
        const response = await this.client.request({
          method: 'PATCH',
          path: location,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(length),
            'content-range': `${offset}-${offset + length - 1}`,
          },
          body: () => body,
          scopes,
          signal,
          noRetry: true,
        });
        discard(response);
        const next = header(response, 'location');
        if (response.status !== 202 || next === undefined) {
          throw await responseError(response, `upload chunk at ${offset} of ${descriptor.digest}`);
        }
        location = new URL(next, response.url);
        offset += length;
      }
    } catch (err) {
      // Cancel the session; failures to cancel are ignored (distribution-spec end-14).
      await this.client
        .request({ method: 'DELETE', path: location, scopes, noRetry: true })
        .then(discard, () => undefined);
      throw err;
    } finally {
      source.destroy();
    }
    const response = await this.client.request({
      method: 'PUT',
      path: withDigestParam(location, descriptor.digest),
      headers: { 'content-length': '0' },
      scopes,
      signal,
    });
    discard(response);
    if (response.status !== 201) throw await responseError(response, `finish upload of ${descriptor.digest}`);
  }

  async putManifest(
    bytes: Buffer,
    mediaType: string,
    tag?: string,
    signal?: AbortSignal,
  ): Promise<Descriptor> {
    const parsed = parseManifest(bytes, mediaType);
    const descriptor: Descriptor = {
      mediaType: parsed.mediaType,
      digest: digestOf(bytes),
      size: bytes.length,
    };
    const response = await this.client.request({
      method: 'PUT',
      path: this.manifestPath(tag ?? descriptor.digest),
      headers: { 'content-type': parsed.mediaType },
      body: bytes,
      scopes: this.push,
      signal,
    });
    discard(response);
    if (response.status !== 201)
      throw await responseError(response, `PUT manifest ${tag ?? descriptor.digest}`);
    const echoed = header(response, 'docker-content-digest');
    if (echoed !== undefined && echoed !== descriptor.digest) {
      throw new MinerhaulError(
        'E_REGISTRY',
        `registry stored the manifest as ${echoed}, not ${descriptor.digest}`,
      );
    }
    const subject = subjectOf(parsed);
    if (subject && header(response, 'oci-subject') === undefined) {
      await this.addToFallback(subject.digest, referrerDescriptor(descriptor, bytes), signal);
    }
    return descriptor;
  }

  /** Maintain the referrers fallback tag for a registry without the API (distribution-spec). */
  private async addToFallback(subject: string, entry: Descriptor, signal?: AbortSignal): Promise<void> {
    const tag = referrersFallbackTag(subject);
    const current = await this.getManifest(tag, signal);
    let existing;
    if (current) {
      const parsed = parseManifest(current.bytes, current.descriptor.mediaType);
      if (parsed.kind !== 'index') {
        throw new MinerhaulError('E_REGISTRY', `referrers fallback tag ${tag} does not hold an index`);
      }
      existing = parsed.index;
    }
    const next = addReferrer(existing, entry);
    if (next === undefined) return;
    const response = await this.client.request({
      method: 'PUT',
      path: this.manifestPath(tag),
      headers: { 'content-type': MEDIA_TYPE_OCI_INDEX },
      body: next,
      scopes: this.push,
      signal,
    });
    discard(response);
    if (response.status !== 201) throw await responseError(response, `PUT referrers fallback ${tag}`);
  }

  async listTags(signal?: AbortSignal): Promise<string[]> {
    const tags: string[] = [];
    let path: string | URL = `/v2/${this.name}/tags/list?n=1000`;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const response = await this.client.request({ method: 'GET', path, scopes: this.pull, signal });
      if (response.status === 404) {
        discard(response);
        return tags;
      }
      if (response.status !== 200) throw await responseError(response, 'list tags');
      const body = JSON.parse((await readBody(response, MAX_MANIFEST_BYTES)).toString('utf8')) as {
        tags?: unknown;
      };
      if (body.tags !== null && body.tags !== undefined && !Array.isArray(body.tags)) {
        throw new MinerhaulError('E_REGISTRY', 'tags list is not an array');
      }
      for (const t of (body.tags as unknown[] | null | undefined) ?? [])
        if (typeof t === 'string') tags.push(t);
      const next = nextLink(header(response, 'link'));
      if (next === undefined) return tags;
      path = new URL(next, response.url);
    }
    throw new MinerhaulError('E_REGISTRY', `tags list longer than ${MAX_LIST_PAGES} pages`);
  }

  async listReferrers(digest: string, artifactType?: string, signal?: AbortSignal): Promise<Descriptor[]> {
    parseDigest(digest);
    if (this.referrersApi !== false) {
      const found: Descriptor[] = [];
      let path: string | URL = `/v2/${this.name}/referrers/${digest}${
        artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''
      }`;
      for (let page = 0; page < MAX_LIST_PAGES; page++) {
        const response = await this.client.request({
          method: 'GET',
          path,
          headers: { accept: MEDIA_TYPE_OCI_INDEX },
          scopes: this.pull,
          signal,
        });
        if (response.status === 404 || response.status === 405) {
          // No referrers API here (registry:2, Docker Hub, GHCR): use the fallback tag from now on.
          discard(response);
          this.referrersApi = false;
          break;
        }
        if (response.status !== 200) throw await responseError(response, `referrers of ${digest}`);
        this.referrersApi = true;
        const parsed = parseManifest(await readBody(response, MAX_MANIFEST_BYTES), MEDIA_TYPE_OCI_INDEX);
        if (parsed.kind !== 'index')
          throw new MinerhaulError('E_REGISTRY', 'referrers response is not an index');
        const filtered = header(response, 'oci-filters-applied')?.includes('artifactType') ?? false;
        found.push(
          ...(filtered ? parsed.index.manifests : filterReferrers(parsed.index.manifests, artifactType)),
        );
        const next = nextLink(header(response, 'link'));
        if (next === undefined) return found;
        path = new URL(next, response.url);
      }
      if (this.referrersApi) return found;
    }
    const fallback = await this.getManifest(referrersFallbackTag(digest), signal);
    if (!fallback) return [];
    const parsed = parseManifest(fallback.bytes, fallback.descriptor.mediaType);
    return parsed.kind === 'index' ? filterReferrers(parsed.index.manifests, artifactType) : [];
  }
}

/** The `rel="next"` target of an RFC 8288 Link header (distribution-spec "Listing Tags"). */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?next"?/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}
