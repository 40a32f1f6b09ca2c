import type { ImageStore, Platform } from '@minerhaul/registry-tools';
import { MinerhaulError } from '@minerhaul/signing';
import { unpackImage, type UnpackImageResult } from '../unpack';
import { hostPlatform, readImageConfig, selectPlatformManifest } from './image-fetch';
import type { ReleaseVerifier, VerifiedStatement } from './ports';

export interface UnpackReleaseOptions {
  /** Tag or digest in `store`. */
  reference: string;
  destDir: string;
  /** The verifier the hotspot uses; `undefined` only for an explicit --insecure-skip-verify. */
  verifier: ReleaseVerifier | undefined;
  platform?: Platform | string;
  now?: Date;
  signal?: AbortSignal;
}

export interface UnpackReleaseResult {
  digest: string;
  manifestDigest: string;
  /** Absent when verification was skipped on request. */
  statement?: VerifiedStatement;
  layers: UnpackImageResult['layers'];
  destDir: string;
}

/**
 * `minerhaul unpack`: what a hotspot would run, by the hotspot's own path: one HEAD, statements
 * verified before any layer is read, this platform's manifest, then the safe unpacker (the same
 * unpackLayer the agent stages with), each layer streamed from the store with its digest checked.
 */
export async function unpackRelease(
  store: ImageStore,
  options: UnpackReleaseOptions,
): Promise<UnpackReleaseResult> {
  const { signal } = options;
  const top = await store.resolve(options.reference, signal);
  if (top === undefined) {
    throw new MinerhaulError('E_NOT_FOUND', `${options.reference} not found in ${store.location}`);
  }
  const statement = await options.verifier?.verify({
    store,
    digest: top.digest,
    now: options.now ?? new Date(),
    ...(signal ? { signal } : {}),
  });
  const manifest = await selectPlatformManifest(
    store,
    top.digest,
    options.platform ?? hostPlatform(),
    signal,
  );
  const { diffIds } = await readImageConfig(store, manifest, signal);
  const result = await unpackImage(
    manifest.layers.map((descriptor, i) => ({
      descriptor,
      diffId: diffIds[i] ?? '',
      open: () => store.openBlob(descriptor, signal ? { signal } : {}),
    })),
    options.destDir,
    signal ? { signal } : {},
  );
  return {
    digest: top.digest,
    manifestDigest: manifest.manifestDigest,
    ...(statement ? { statement } : {}),
    layers: result.layers,
    destDir: result.destDir,
  };
}
