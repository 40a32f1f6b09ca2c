import {
  createServer,
  request,
  Agent,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';

export type LieMode =
  | { kind: 'pass' }
  /** Flip the first byte of every blob body (same length). */
  | { kind: 'corrupt-blob' }
  /** Serve only the first half of every blob, with a matching Content-Length (a clean short read). */
  | { kind: 'truncate-blob' }
  /** Cut the connection after `afterBytes` of the next blob body, once; later requests pass. */
  | { kind: 'cut-blob-once'; afterBytes: number }
  /** Answer manifest GETs with these bytes instead (a manifest for another digest). */
  | { kind: 'substitute-manifest'; bytes: Buffer; mediaType: string }
  /** Answer the next `times` requests with `status` (and Retry-After when given), then pass. */
  | { kind: 'fail'; status: number; times: number; retryAfter?: string }
  /** Redirect blob GETs to `origin` + the same path (another origin: Authorization must not follow). */
  | { kind: 'redirect-blobs'; origin: string };

export interface ProxyRequestRecord {
  method: string;
  path: string;
  authorization?: string;
  range?: string;
  at: number;
}

export interface LyingProxy {
  host: string;
  url: string;
  requests: ProxyRequestRecord[];
  behave(mode: LieMode): void;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<{ host: string; url: string }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { host: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const isBlobGet = (req: IncomingMessage): boolean =>
  req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
const isManifestGet = (req: IncomingMessage): boolean =>
  req.method === 'GET' && /\/manifests\//.test(req.url ?? '');

function forward(
  upstream: URL,
  agent: Agent,
  req: IncomingMessage,
  onResponse: (res: IncomingMessage) => void,
  extraHeaders: Record<string, string> = {},
): void {
  // Keep the client's Host: the registry builds upload Locations from it, and they must point back here.
  const headers = { ...req.headers, ...extraHeaders };
  const out = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
    onResponse,
  );
  out.on('error', () => req.socket.destroy());
  req.pipe(out);
}

/**
 * A registry proxy of the tests' own that lies on demand: corrupts, truncates or cuts blobs, serves a
 * manifest for another digest, injects 429/5xx with Retry-After, or redirects blobs to another origin.
 * Plain HTTP on 127.0.0.1 in front of an HTTP registry.
 */
export async function startLyingProxy(upstreamUrl: string): Promise<LyingProxy> {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true });
  const requests: ProxyRequestRecord[] = [];
  let mode: LieMode = { kind: 'pass' };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      range: req.headers.range,
      at: Date.now(),
    });
    const current = mode;
    if (current.kind === 'fail' && current.times > 0) {
      current.times--;
      req.resume();
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (current.retryAfter !== undefined) headers['retry-after'] = current.retryAfter;
      res
        .writeHead(current.status, headers)
        .end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    if (current.kind === 'redirect-blobs' && isBlobGet(req)) {
      req.resume();
      res.writeHead(307, { location: `${current.origin}${req.url ?? ''}` }).end();
      return;
    }
    forward(upstream, agent, req, (up) => {
      const status = up.statusCode ?? 502;
      const headers = { ...up.headers };
      if (current.kind === 'substitute-manifest' && isManifestGet(req) && status === 200) {
        up.resume();
        headers['content-length'] = String(current.bytes.length);
        headers['content-type'] = current.mediaType;
        res.writeHead(status, headers).end(current.bytes);
        return;
      }
      if (isBlobGet(req) && status === 200 && current.kind === 'truncate-blob') {
        const half = Math.floor(Number(up.headers['content-length']) / 2);
        headers['content-length'] = String(half);
        res.writeHead(status, headers);
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          const part = chunk.subarray(0, Math.max(0, half - sent));
          sent += part.length;
          if (part.length > 0) res.write(part);
        });
        up.on('end', () => res.end());
        return;
      }
      if (isBlobGet(req) && (status === 200 || status === 206) && current.kind === 'cut-blob-once') {
        mode = { kind: 'pass' };
        res.writeHead(status, headers);
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          const part = chunk.subarray(0, Math.max(0, current.afterBytes - sent));
          sent += part.length;
          if (part.length > 0) res.write(part);
          if (sent >= current.afterBytes && !up.destroyed) {
            up.destroy();
            // Let the client store what it got before the connection drops, so a resume has a prefix.
            setTimeout(() => res.socket?.destroy(), 200);
          }
        });
        return;
      }
      res.writeHead(status, headers);
      if (isBlobGet(req) && status === 200 && current.kind === 'corrupt-blob') {
        let first = true;
        up.on('data', (chunk: Buffer) => {
          if (first && chunk.length > 0) {
            const copy = Buffer.from(chunk);
            copy[0] = (copy[0] ?? 0) ^ 0xff;
            res.write(copy);
            first = false;
          } else {
            res.write(chunk);
          }
        });
        up.on('end', () => res.end());
        return;
      }
      up.pipe(res);
    });
  };

  const server = createServer(handle);
  const { host, url } = await listen(server);
  return {
    host,
    url,
    requests,
    behave: (next) => {
      mode = next;
    },
    stop: async () => {
      agent.destroy();
      await close(server);
    },
  };
}

export interface BlobMirror {
  url: string;
  /** Authorization headers received (undefined when none was sent). */
  authorizations: (string | undefined)[];
  stop(): Promise<void>;
}

/**
 * Another origin that serves blobs by fetching them from the registry with its own credentials: the
 * target of `redirect-blobs`, recording whether the client leaked its Authorization header here.
 */
export async function startBlobMirror(upstreamUrl: string, authorization?: string): Promise<BlobMirror> {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true });
  const authorizations: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    forward(
      upstream,
      agent,
      req,
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
      authorization ? { authorization } : {},
    );
  });
  const { url } = await listen(server);
  return {
    url,
    authorizations,
    stop: async () => {
      agent.destroy();
      await close(server);
    },
  };
}
