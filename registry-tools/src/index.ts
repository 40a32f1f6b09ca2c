export * from './image-store';
export * from './manifest';
export * from './reference';
export * from './platform';
export * from './open-store';
export { DigestVerifier, digestOf, isDigest, parseDigest } from './client/digest';
export { downloadBlob, type DownloadOptions } from './client/blob-download';
export { readDockerCredentials, defaultDockerConfigPath } from './client/docker-config';
export {
  createHttpSend,
  type HttpRequest,
  type HttpResponse,
  type HttpSend,
  type TlsOptions,
} from './client/http-transport';
export { type Credentials } from './client/registry-auth';
export { type RetryOptions, type Sleep } from './client/retry-policy';
export { referrersFallbackTag, referrerDescriptor } from './client/referrers';
export { RegistryStore } from './client/registry-store';
export { OciLayoutStore } from './layout/oci-layout-store';
export { HttpsLayoutStore } from './layout/https-layout-store';
export * from './builder';
export * from './statements';
export * from './publish';
export * from './progress';
export { resolveRequired, getManifestRequired } from './client/resolve-required';
