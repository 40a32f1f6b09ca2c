export { BlobStore } from './blob-store';
export type {
  BlobRef,
  BlobSource,
  BlobProgress,
  BlobReadOptions,
  BlobStoreOptions,
  GcResult,
} from './blob-store';
export { fetchAndUnpack } from './fetch-and-unpack';
export type { FetchAndUnpackOptions, FetchAndUnpackResult } from './fetch-and-unpack';
export { ensureFreeSpace, spaceGuard, statfsProbe } from './free-space';
export type { SpaceProbe } from './free-space';
export { sha256Hex } from './blob-digest';
