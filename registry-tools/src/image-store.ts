import type { Readable } from 'node:stream';

/** OCI descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
  data?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** A manifest or index exactly as served: the bytes are what the digest covers. */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface BlobReadOptions {
  /** Bytes already held: the store resumes from there (HTTP Range) and the caller supplies them to the hash. */
  offset?: number;
  signal?: AbortSignal;
}

export interface ProgressEvent {
  digest: string;
  transferred: number;
  total: number;
}

/**
 * One place images live: a registry repository, an OCI layout directory, or a layout served over HTTPS.
 * Every read verifies content against its digest (E_DIGEST, nothing kept); absence is `undefined`,
 * every other failure is a thrown MinerhaulError.
 */
export interface ImageStore {
  /** Human-readable location, e.g. `127.0.0.1:5000/miner` or `oci-layout:/srv/bundle`. */
  readonly location: string;
  /** The repository name statements must name (registry repository path, or the layout's identity). */
  readonly repository: string;
  /** Resolve a tag or digest to the top-level descriptor with one cheap request (HEAD on registries). */
  resolve(reference: string, signal?: AbortSignal): Promise<Descriptor | undefined>;
  /** Fetch a manifest or index by tag or digest; digest and 4 MiB size cap are checked. */
  getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest | undefined>;
  /**
   * Stream a blob. The stream errors with E_DIGEST when the content does not match the descriptor's
   * digest or size; when `offset` is given only the remaining bytes are streamed (not verified alone).
   */
  openBlob(descriptor: Descriptor, options?: BlobReadOptions): Promise<Readable>;
  hasBlob(descriptor: Descriptor, signal?: AbortSignal): Promise<boolean>;
  /** Upload a blob from a stream factory (called again on retry); skips it if already present. */
  putBlob(
    descriptor: Descriptor,
    open: () => Readable | Promise<Readable>,
    options?: { signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void; mountFrom?: string },
  ): Promise<void>;
  /** Store a manifest or index under its digest and, when given, a tag. */
  putManifest(bytes: Buffer, mediaType: string, tag?: string, signal?: AbortSignal): Promise<Descriptor>;
  listTags(signal?: AbortSignal): Promise<string[]>;
  /** Manifests whose `subject` is `digest` (referrers API, or its fallback tag). */
  listReferrers(digest: string, artifactType?: string, signal?: AbortSignal): Promise<Descriptor[]>;
}
