import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, FetchedManifest, ImageStore } from '../image-store';

/** resolve(), with absence turned into E_NOT_FOUND for callers that need the image to exist. */
export async function resolveRequired(
  store: ImageStore,
  reference: string,
  signal?: AbortSignal,
): Promise<Descriptor> {
  const found = await store.resolve(reference, signal);
  if (!found) {
    throw new MinerhaulError('E_NOT_FOUND', `${store.location}: no image ${reference}`, {
      details: { location: store.location, reference },
    });
  }
  return found;
}

/** getManifest(), with absence turned into E_NOT_FOUND. */
export async function getManifestRequired(
  store: ImageStore,
  reference: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  const found = await store.getManifest(reference, signal);
  if (!found) {
    throw new MinerhaulError('E_NOT_FOUND', `${store.location}: no manifest ${reference}`, {
      details: { location: store.location, reference },
    });
  }
  return found;
}
