import { createPrivateKey, sign, X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { makeCa } from './test-certs';
import { makeTmpDir } from './tmp-dir';

export interface TokenServerOptions {
  /** username → password of accounts that get every action they ask for. */
  users: Record<string, string>;
  /** Anonymous callers get `pull` only (like Docker Hub's public images). */
  anonymousPull?: boolean;
  service?: string;
  issuer?: string;
  /** Token lifetime in seconds (expires_in). */
  expiresIn?: number;
}

export interface TokenRequestRecord {
  account: string | undefined;
  scopes: string[];
  status: number;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** The certificate whose key signs tokens: the registry's `auth.token.rootcertbundle`. */
  certPath: string;
  requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function basicUser(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * A Docker token server of the tests' own (distribution "Token Authentication Specification"): it
 * issues ES256 JWTs whose x5c header carries a self-signed certificate the registry trusts through
 * `rootcertbundle`, with the `access` claim granting what the account may do.
 */
export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const tmp = makeTmpDir('minerhaul-token-');
  // A self-signed certificate is all the registry needs: `rootcertbundle` trusts it directly.
  const { caKeyPath: keyPath, caCertPath: certPath } = makeCa(tmp.path, 'minerhaul token');
  const key = createPrivateKey(readFileSync(keyPath));
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  const service = options.service ?? 'minerhaul-test-registry';
  const issuer = options.issuer ?? 'minerhaul-test-token-issuer';
  const requests: TokenRequestRecord[] = [];

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const scopes = url.searchParams.getAll('scope');
    const basic = basicUser(req);
    const record: TokenRequestRecord = { account: basic?.user, scopes, status: 200 };
    requests.push(record);
    if (basic && options.users[basic.user] !== basic.password) {
      record.status = 401;
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"details":"incorrect username or password"}');
      return;
    }
    if (!basic && !options.anonymousPull) {
      record.status = 401;
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"credentials required"}');
      return;
    }
    const access = scopes.flatMap((scope) => {
      // repository:NAME:ACTIONS, where NAME may hold a ':' (host:port): split at the first and last colon.
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last <= first) return [];
      const actions = scope.slice(last + 1).split(',');
      const granted = basic ? actions : actions.filter((a) => a === 'pull');
      return [{ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: granted }];
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? 300;
    const header = { alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: basic?.user ?? '',
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    // JWS ES256 wants the raw r||s signature (RFC 7518 §3.4), not DER.
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${signingInput}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date(now * 1000).toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      tmp.cleanup();
    },
  };
}
