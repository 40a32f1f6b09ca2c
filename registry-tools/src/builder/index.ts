export {
  type BuildOptions,
  type BuildResult,
  type PlatformSource,
  DEFAULT_PREFIX,
  buildImage,
  parsePlatformSource,
  sourceDateEpochFromEnv,
} from './build-image';
export { type Compression, LAYER_MEDIA_TYPES, parseCompression } from './layer-compression';
