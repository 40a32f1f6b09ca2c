import type { ImageStore } from '../image-store';
import { fetchParsed } from './image-annotations';
import { type SignImageOptions, type SignImageResult, signImage } from './sign-image';

export interface PromoteImageOptions extends Omit<SignImageOptions, 'channel' | 'reference'> {
  /** Tag or digest of the existing image. */
  reference: string;
  /** The new tag, which is also the channel signed for. */
  tag: string;
}

/**
 * `minerhaul promote REF TAG`: puts the exact manifest bytes under a new tag (the registry already
 * holds every blob it references, so no blob moves) and signs the image for that channel.
 */
export async function promoteImage(
  store: ImageStore,
  options: PromoteImageOptions,
): Promise<SignImageResult> {
  const { descriptor, bytes, parsed } = await fetchParsed(store, options.reference, options.signal);
  await store.putManifest(bytes, parsed.mediaType, options.tag, options.signal);
  return signImage(store, { ...options, reference: descriptor.digest, channel: options.tag });
}
