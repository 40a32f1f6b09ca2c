import { MinerhaulError } from '@minerhaul/signing';
import { discard, header, readBody, type HttpSend } from './http-transport';
import { parseWwwAuthenticate } from './www-authenticate';

export interface Credentials {
  username: string;
  password: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

type Scheme = { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

export interface RegistryAuthOptions {
  send: HttpSend;
  credentials?: Credentials;
  userAgent: string;
  /** May a token realm be fetched over plain HTTP (loopback or --insecure only)? */
  allowHttp: (url: URL) => boolean;
  now?: () => number;
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;

/**
 * Anonymous, Basic and Bearer-token auth for one registry (distribution "Token Authentication").
 * The scheme is learnt from the first 401 and then used pre-emptively; tokens are cached per
 * (realm, service, sorted scope set, identity) until `issued_at + expires_in - 30 s`.
 */
export class RegistryAuth {
  private scheme: Scheme | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly now: () => number;

  constructor(private readonly options: RegistryAuthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The Authorization header to send for a request needing `scopes`, when the scheme is known. */
  async authorization(scopes: string[], signal?: AbortSignal): Promise<string | undefined> {
    const scheme = this.scheme;
    if (scheme === undefined) return undefined;
    if (scheme.kind === 'basic') return this.basicHeader();
    const token = await this.token(scheme, scopes, signal);
    return `Bearer ${token}`;
  }

  /**
   * React to a 401: learn the scheme and fetch what it needs. `hadAuthorization` tells whether the
   * refused request already carried credentials; then the cached token is dropped and the flow is
   * redone once by the caller (Harbor answers Basic to a refused Bearer: protocol-reference §1.9).
   */
  async onChallenge(
    wwwAuthenticate: string | undefined,
    scopes: string[],
    hadAuthorization: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    const challenges = parseWwwAuthenticate(wwwAuthenticate ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const previous = this.scheme;
    if (bearer?.params.realm) {
      const extra = (bearer.params.scope ?? '').split(' ').filter(Boolean);
      const scheme: Scheme = { kind: 'bearer', realm: bearer.params.realm, service: bearer.params.service };
      if (hadAuthorization && previous?.kind === 'bearer') {
        this.tokens.delete(this.cacheKey(previous, scopes));
      }
      this.scheme = scheme;
      // Fetch now so a refusal surfaces here as E_AUTH; insufficient_scope adds the challenge's scopes.
      await this.token(scheme, [...new Set([...scopes, ...extra])], signal, hadAuthorization);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.options.credentials) {
        throw new MinerhaulError(
          'E_AUTH',
          'the registry requires credentials (Basic auth) and none were given',
        );
      }
      if (hadAuthorization && previous?.kind === 'basic') {
        throw new MinerhaulError('E_AUTH', 'the registry refused the credentials');
      }
      this.scheme = { kind: 'basic' };
      return;
    }
    throw new MinerhaulError('E_AUTH', 'the registry refused the request (401) without a usable challenge', {
      details: { wwwAuthenticate },
    });
  }

  private basicHeader(): string {
    const c = this.options.credentials;
    if (!c) throw new MinerhaulError('E_AUTH', 'the registry requires credentials and none were given');
    return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  }

  private cacheKey(scheme: { realm: string; service: string | undefined }, scopes: string[]): string {
    const identity = this.options.credentials?.username ?? '';
    return JSON.stringify([scheme.realm, scheme.service ?? '', [...new Set(scopes)].sort(), identity]);
  }

  private async token(
    scheme: { realm: string; service: string | undefined },
    scopes: string[],
    signal?: AbortSignal,
    refresh = false,
  ): Promise<string> {
    const key = this.cacheKey(scheme, scopes);
    const cached = this.tokens.get(key);
    if (cached && !refresh && cached.expiresAt > this.now()) return cached.token;

    let url: URL;
    try {
      url = new URL(scheme.realm);
    } catch (cause) {
      throw new MinerhaulError('E_AUTH', `token realm ${scheme.realm} is not a URL`, { cause });
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.options.allowHttp(url))) {
      throw new MinerhaulError('E_AUTH', `refusing token realm ${scheme.realm}: not HTTPS`);
    }
    if (scheme.service !== undefined) url.searchParams.set('service', scheme.service);
    for (const scope of [...new Set(scopes)].sort()) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent,
      accept: 'application/json',
    };
    if (this.options.credentials) {
      url.searchParams.set('account', this.options.credentials.username);
      headers.authorization = this.basicHeader();
    }
    const issuedAtLocal = this.now();
    const response = await this.options.send({ method: 'GET', url, headers, signal });
    if (response.status === 401 || response.status === 403) {
      discard(response);
      throw new MinerhaulError('E_AUTH', `the token server refused ${scopes.join(' ') || 'the request'}`, {
        details: { status: response.status, realm: scheme.realm },
      });
    }
    if (response.status !== 200) {
      discard(response);
      throw new MinerhaulError('E_REGISTRY', `token server answered HTTP ${response.status}`, {
        details: {
          status: response.status,
          realm: scheme.realm,
          wwwAuthenticate: header(response, 'www-authenticate'),
        },
      });
    }
    const body = await readBody(response, MAX_TOKEN_RESPONSE);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch (cause) {
      throw new MinerhaulError('E_AUTH', 'token server response is not JSON', { cause });
    }
    // access_token is canonical when both are present (distribution's session code copies it into token).
    const token = typeof parsed.access_token === 'string' ? parsed.access_token : parsed.token;
    if (typeof token !== 'string' || token === '') {
      throw new MinerhaulError('E_AUTH', 'token server response carries no token');
    }
    // expires_in defaults to 60 s and is clamped up to 60 s; count from issued_at when given.
    const lifetime = Math.max(60, typeof parsed.expires_in === 'number' ? parsed.expires_in : 60) * 1000;
    const issuedAt = typeof parsed.issued_at === 'string' ? Date.parse(parsed.issued_at) : NaN;
    const start = Number.isFinite(issuedAt) ? Math.min(issuedAt, issuedAtLocal) : issuedAtLocal;
    this.tokens.set(key, { token, expiresAt: start + lifetime - 30_000 });
    return token;
  }
}
