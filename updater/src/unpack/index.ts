export { unpackLayer, DEFAULT_MAX_LAYER_BYTES, DEFAULT_MAX_RATIO, DEFAULT_MAX_ENTRIES } from './unpack-layer';
export type { UnpackLayerOptions, UnpackLayerResult } from './unpack-layer';
export { unpackImage } from './unpack-image';
export type { ImageLayer, LayerDescriptor, UnpackImageOptions, UnpackImageResult } from './unpack-image';
export type { SkippedEntry, UnpackOwner } from './layer-applier';
export { compressionOf, sniffCompression } from './layer-compression';
export type { Compression } from './layer-compression';
