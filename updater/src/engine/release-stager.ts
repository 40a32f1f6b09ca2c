import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Descriptor } from '@minerhaul/registry-tools';
import { MinerhaulError } from '@minerhaul/signing';
import { type BlobRef, BlobStore, type BlobSource, type BlobStoreOptions, fetchAndUnpack } from '../store';
import { parseImageConfig } from './image-fetch';
import type { ReleaseStager, StageRequest } from './ports';
import type { StagedRelease } from './release-record';

export interface BlobStoreStagerOptions {
  /** Blobs go to the store at `<stateDir>/store` (an OCI image layout), releases to `<stateDir>/releases/<hex>`. */
  stateDir: string;
  mode: 'slim' | 'full';
  /** Passed to the blob store (tests inject a space probe). */
  storeOptions?: BlobStoreOptions;
}

/** The shared blob store at `<stateDir>/store`, opened on first use. */
function lazyBlobStore(stateDir: string, storeOptions: BlobStoreOptions = {}): () => Promise<BlobStore> {
  let opened: Promise<BlobStore> | undefined;
  return () => (opened ??= BlobStore.open(join(stateDir, 'store'), storeOptions));
}

/** What every stager on the shared blob store answers alike. */
function onBlobStore(blobStore: () => Promise<BlobStore>): Pick<ReleaseStager, 'usesBlobStore' | 'held'> {
  return {
    usesBlobStore: true,
    async held(digests) {
      const store = await blobStore();
      const out = new Set<string>();
      for (const d of digests) if (await store.has(d)) out.add(d);
      return out;
    },
  };
}

function sourceOf(request: StageRequest): BlobSource {
  return (blob, offset, sig) =>
    request.store.openBlob(blob as Descriptor, { offset, ...(sig ? { signal: sig } : {}) });
}

/** Fetches the image config into the store (verified) and parses it against the manifest. */
async function stageConfig(
  blobs: BlobStore,
  request: StageRequest,
): Promise<ReturnType<typeof parseImageConfig>> {
  const { manifest, signal } = request;
  await blobs.fetch(manifest.config, sourceOf(request), signal ? { signal } : {});
  const configBytes = await blobs.readBytes(manifest.config);
  if (configBytes === undefined)
    throw new MinerhaulError('E_DIGEST', `image config ${manifest.config.digest} vanished`);
  return parseImageConfig(configBytes, manifest.layers, manifest.expectPlatform);
}

/**
 * Bubblewrap staging on the shared blob store (updater/src/store): a held blob is read from disk and
 * never fetched again; a missing one is streamed once (download -> hash -> tee to the store ->
 * decompress -> unpack) by fetchAndUnpack, with its free-space checks (E_NO_SPACE).
 */
export function blobStoreStager(options: BlobStoreStagerOptions): ReleaseStager {
  const releaseRoot = join(options.stateDir, 'releases');
  const releaseDir = (manifestDigest: string): string => join(releaseRoot, hexOf(manifestDigest));
  const blobStore = lazyBlobStore(options.stateDir, options.storeOptions);

  return {
    ...onBlobStore(blobStore),

    async stage(request: StageRequest): Promise<StagedRelease> {
      const { target, manifest, signal } = request;
      const blobs = await blobStore();
      const fromSource = sourceOf(request);
      const { diffIds, config } = await stageConfig(blobs, request);
      const dest = releaseDir(target.manifestDigest);
      // A staging left by a crash (recovery discards it; this covers a direct retry).
      await rm(dest, { recursive: true, force: true });
      await fetchAndUnpack({
        store: blobs,
        layers: manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i] ?? '' })),
        source: fromSource,
        destDir: dest,
        ...(signal ? { signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      });
      return {
        ...target,
        bubblewrap: { releaseDir: dest, mode: options.mode },
        config,
        blobs: [manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
      };
    },

    async discard(manifestDigest) {
      await rm(releaseDir(manifestDigest), { recursive: true, force: true });
    },

    async gc(keep) {
      const keepReleases = new Set(keep.map((r) => hexOf(r.manifestDigest)));
      for (const name of await listDir(releaseRoot)) {
        if (!keepReleases.has(name)) await rm(join(releaseRoot, name), { recursive: true, force: true });
      }
      await (await blobStore()).gc(...keep.map((r) => r.blobs));
    },
  };
}

export interface BlobLoadStagerOptions {
  /** Blobs go to the shared store at `<stateDir>/store`, as with blobStoreStager. */
  stateDir: string;
  /**
   * Loads the verified image into the Docker engine from the store's blobs and returns its id
   * (`sha256:<config hex>`): DockerRuntime.loadImage.
   */
  load: (
    image: { config: BlobRef; layers: BlobRef[] },
    open: (blob: BlobRef) => Promise<Readable>,
  ) => Promise<string>;
  storeOptions?: BlobStoreOptions;
}

/**
 * Docker staging for sources the Engine cannot pull from (`oci-layout:DIR`, `https://…` layouts): each blob
 * is fetched into the shared store (verified, resumable, never fetched again while held), then the
 * image is loaded into the Engine from there; the release's image is its id (decision 0354).
 */
export function blobLoadStager(options: BlobLoadStagerOptions): ReleaseStager {
  const blobStore = lazyBlobStore(options.stateDir, options.storeOptions);

  return {
    ...onBlobStore(blobStore),

    async stage(request: StageRequest): Promise<StagedRelease> {
      const { target, manifest, signal } = request;
      const blobs = await blobStore();
      const { config } = await stageConfig(blobs, request);
      for (const layer of manifest.layers) {
        await blobs.fetch(layer, sourceOf(request), {
          ...(signal ? { signal } : {}),
          ...(request.onProgress ? { onProgress: request.onProgress } : {}),
        });
      }
      const imageId = await options.load(
        { config: manifest.config, layers: manifest.layers },
        async (blob) => {
          const stream = await blobs.read(blob);
          if (stream === undefined) throw new MinerhaulError('E_DIGEST', `blob ${blob.digest} vanished`);
          return stream;
        },
      );
      return {
        ...target,
        docker: { imageRef: imageId, layerBytes: layerBytesOf(manifest.layers) },
        config,
        blobs: [manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
      };
    },

    // Nothing of a staged image lives outside the store and the Engine (the runtime's discard).
    discard: async () => undefined,

    async gc(keep) {
      await (await blobStore()).gc(...keep.map((r) => r.blobs));
    },
  };
}

export interface PullStagerOptions {
  /** `registry/repository@<manifest digest>` for the Docker engine to pull by digest. */
  imageRef: (manifestDigest: string) => string;
}

/**
 * Docker staging: the engine pulls by digest itself (runtime.prepare), so only the small image
 * config is read here for the record; nothing goes to the blob store.
 */
export function pullStager(options: PullStagerOptions): ReleaseStager {
  return {
    usesBlobStore: false,
    held: async () => new Set<string>(),
    async stage({ store, target, manifest, signal }): Promise<StagedRelease> {
      const bytes = await readAll(await store.openBlob(manifest.config, signal ? { signal } : {}));
      const { config } = parseImageConfig(bytes, manifest.layers, manifest.expectPlatform);
      return {
        ...target,
        docker: {
          imageRef: options.imageRef(target.manifestDigest),
          layerBytes: layerBytesOf(manifest.layers),
        },
        config,
        blobs: [manifest.config.digest, ...manifest.layers.map((l) => l.digest)],
      };
    },
    discard: async () => undefined,
    gc: async () => undefined,
  };
}

/** Compressed bytes of an image's layers: what a docker pull or load must find room for. */
function layerBytesOf(layers: readonly { size: number }[]): number {
  return layers.reduce((sum, layer) => sum + layer.size, 0);
}

function hexOf(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (m?.[1] === undefined) throw new MinerhaulError('E_DIGEST', `unsupported digest ${digest}`);
  return m[1];
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}
