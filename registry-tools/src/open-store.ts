import { MinerhaulError } from '@minerhaul/signing';
import { readDockerCredentials } from './client/docker-config';
import { createHttpSend, type HttpSend } from './client/http-transport';
import { RegistryAuth, type Credentials } from './client/registry-auth';
import { RegistryClient } from './client/registry-client';
import { RegistryStore } from './client/registry-store';
import { DEFAULT_RETRY, realSleep, type RetryOptions, type Sleep } from './client/retry-policy';
import type { ImageStore } from './image-store';
import { HttpsLayoutStore } from './layout/https-layout-store';
import { OciLayoutStore } from './layout/oci-layout-store';
import { isLoopbackHost, parseReference, type ImageReference } from './reference';

export interface OpenStoreOptions {
  /** Extra CA certificate (path or PEM) trusted besides the system roots. */
  caCert?: string;
  /** The exact certificate the server must present (path or PEM). */
  pinnedCert?: string;
  /** Allow plain HTTP to a non-loopback host. TLS verification is never turned off. */
  insecure?: boolean;
  credentials?: Credentials;
  /** Docker config to read credentials from when `credentials` is not given (default ~/.docker/config.json). */
  dockerConfigPath?: string;
  userAgent?: string;
  retry?: Partial<RetryOptions>;
  /** Replace the HTTP layer (tests); TLS options are then the replacement's business. */
  fetchImpl?: HttpSend;
  /** Drop a connection silent for this long (default 60 s); it is then retried like a network failure. */
  timeoutMs?: number;
  /** Replace the backoff sleep (tests). */
  sleep?: Sleep;
  /** Chunked-upload tuning for registries (defaults: chunks of 64 MiB above 100 MiB). */
  chunkThreshold?: number;
  chunkSize?: number;
  /** Identity statements name, overriding the reference's own (e.g. an oci-layout copy of a registry image). */
  identity?: string;
}

export const DEFAULT_USER_AGENT = 'minerhaul/0.1';

/**
 * Open the ImageStore a reference names: a registry repository, an `oci-layout:` directory or a
 * layout served over HTTPS. Registries use HTTPS unless the host is loopback or `insecure` is set and
 * no TLS option was given (decision 0201).
 */
export function openStore(reference: string | ImageReference, options: OpenStoreOptions = {}): ImageStore {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  if (ref.kind === 'oci-layout') return new OciLayoutStore(ref.dir, options.identity ?? ref.identity);

  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  const send =
    options.fetchImpl ??
    createHttpSend({ caCert: options.caCert, pinnedCert: options.pinnedCert }, options.timeoutMs);
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const allowHttp = (url: URL): boolean => options.insecure === true || isLoopbackHost(url.host);
  const tlsConfigured = options.caCert !== undefined || options.pinnedCert !== undefined;

  if (ref.kind === 'https-layout') {
    const base = new URL(ref.url);
    if (base.protocol === 'http:' && !allowHttp(base)) {
      throw new MinerhaulError('E_CONFIG', `plain HTTP to ${base.host} needs --insecure`);
    }
    const auth = new RegistryAuth({ send, credentials: options.credentials, userAgent, allowHttp });
    const client = new RegistryClient(new URL(base.origin), {
      send,
      auth,
      retry,
      sleep: options.sleep ?? realSleep,
      userAgent,
    });
    return new HttpsLayoutStore(client, ref.url, options.identity ?? ref.identity);
  }

  const plain = !tlsConfigured && (options.insecure === true || isLoopbackHost(ref.registry));
  const origin = new URL(`${plain ? 'http' : 'https'}://${ref.registry}`);
  const credentials = options.credentials ?? readDockerCredentials(ref.registry, options.dockerConfigPath);
  const auth = new RegistryAuth({ send, credentials, userAgent, allowHttp });
  const client = new RegistryClient(origin, {
    send,
    auth,
    retry,
    sleep: options.sleep ?? realSleep,
    userAgent,
  });
  return new RegistryStore(client, ref.repository, options.identity ?? ref.identity, {
    chunkThreshold: options.chunkThreshold,
    chunkSize: options.chunkSize,
  });
}
