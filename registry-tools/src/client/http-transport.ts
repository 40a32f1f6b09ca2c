import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import { MinerhaulError } from '@minerhaul/signing';

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a stream factory called once per attempt (so retries can re-send it). */
  body?: Buffer | (() => Readable | Promise<Readable>);
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  body: Readable;
}

/** One HTTP exchange without redirects, retries or auth: the seam tests and `fetchImpl` replace. */
export type HttpSend = (request: HttpRequest) => Promise<HttpResponse>;

export interface TlsOptions {
  /** Extra trusted CA certificates: a path or PEM text. The system roots stay trusted. */
  caCert?: string;
  /** The one certificate the server must present (HIP3's SslPublicCert): a path or PEM text. */
  pinnedCert?: string;
}

/** A socket silent this long (no response, or a stalled body) is dropped; retried like a network failure. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Node/OpenSSL error codes that mean "certificate not trusted" rather than "network down". */
const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME|PIN/;

export function readPem(value: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (cause) {
    throw new MinerhaulError('E_CONFIG', `cannot read certificate file ${value}`, { cause });
  }
}

function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new MinerhaulError('E_CONFIG', `${what} is not a PEM certificate`, { cause });
  }
}

/** A network or TLS failure: E_TLS for trust problems (never retried), E_REGISTRY otherwise (retryable). */
export function transportError(err: unknown, url: URL): MinerhaulError {
  if (err instanceof MinerhaulError) return err;
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message ?? String(err);
  if (TLS_ERROR.test(code) || /certificate/i.test(message)) {
    return new MinerhaulError('E_TLS', `TLS failure talking to ${url.host}: ${message}`, {
      cause: err,
      details: { host: url.host, tlsCode: code },
    });
  }
  if ((err as Error).name === 'AbortError') {
    return new MinerhaulError('E_REGISTRY', `request to ${url.host} aborted`, { cause: err });
  }
  return new MinerhaulError('E_REGISTRY', `network failure talking to ${url.host}: ${message}`, {
    cause: err,
    details: { host: url.host, netCode: code, retryable: true },
  });
}

/**
 * node:http(s) with one keep-alive agent per store: TLS verification is always on, with optional
 * extra CA and an optional pinned certificate (compared byte for byte with the peer's).
 */
export function createHttpSend(tls: TlsOptions = {}, timeoutMs = DEFAULT_TIMEOUT_MS): HttpSend {
  const ca: string[] = [];
  let pinned: Buffer | undefined;
  if (tls.caCert !== undefined) {
    const pem = readPem(tls.caCert);
    parseCertificate(pem, 'caCert');
    ca.push(...rootCertificates, pem);
  }
  if (tls.pinnedCert !== undefined) {
    const pem = readPem(tls.pinnedCert);
    pinned = parseCertificate(pem, 'pinnedCert').raw;
    // The pinned certificate is trusted as an anchor itself, so a self-signed one works.
    if (ca.length === 0) ca.push(...rootCertificates);
    ca.push(pem);
  }
  const httpsAgent = new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    ...(ca.length > 0 ? { ca } : {}),
    // A pinned leaf is a trust anchor of its own, not only a self-signed one (Node >= 20.18).
    ...(pinned ? { allowPartialTrustChain: true } : {}),
    checkServerIdentity: (host: string, cert: PeerCertificate) => {
      const err = checkServerIdentity(host, cert);
      if (err) return err;
      if (pinned && !cert.raw.equals(pinned)) {
        const pinErr = new Error(`certificate of ${host} is not the pinned one`) as Error & { code: string };
        pinErr.code = 'ERR_CERT_PIN_MISMATCH';
        return pinErr;
      }
      return undefined;
    },
  });
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  return async (request) => {
    const { url } = request;
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') {
      throw new MinerhaulError('E_CONFIG', `unsupported URL scheme ${url.protocol}`);
    }
    const body = typeof request.body === 'function' ? await request.body() : request.body;
    const headers: Record<string, string> = { ...request.headers };
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, {
        method: request.method,
        headers,
        agent: isHttps ? httpsAgent : httpAgent,
        signal: request.signal,
      });
      // A failing body stream (e.g. E_DIGEST from a short source) explains the hang-up better than the socket.
      req.on('error', (err) => {
        const bodyError = body !== undefined && !Buffer.isBuffer(body) ? body.errored : null;
        reject(transportError(bodyError ?? err, url));
      });
      req.setTimeout(timeoutMs, () => {
        const err = new Error(`no data for ${timeoutMs} ms`) as Error & { code: string };
        err.code = 'ETIMEDOUT';
        req.destroy(err);
      });
      req.on('response', (res: IncomingMessage) => {
        res.on('error', () => undefined);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
      });
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else pipeline(body, req).catch((err: unknown) => req.destroy(err as Error));
    });
  };
}

/** Read a small response body whole, refusing more than `limit` bytes. */
export async function readBody(response: HttpResponse, limit: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    response.body.destroy();
    throw new MinerhaulError('E_REGISTRY', `response of ${declared} bytes exceeds the ${limit} byte cap`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        response.body.destroy();
        throw new MinerhaulError('E_REGISTRY', `response exceeds the ${limit} byte cap`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    throw transportError(err, response.url);
  }
  return Buffer.concat(chunks, total);
}

/** Drain and forget a body we do not need, so the keep-alive socket can be reused. */
export function discard(response: HttpResponse): void {
  response.body.resume();
}

export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
