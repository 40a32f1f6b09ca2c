import { MinerhaulError } from '@minerhaul/signing';
import { discard, header, type HttpRequest, type HttpResponse, type HttpSend } from './http-transport';
import type { RegistryAuth } from './registry-auth';
import {
  backoffDelay,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  type Sleep,
} from './retry-policy';

export interface RegistryRequest {
  method: string;
  /** Path below the registry origin (e.g. `/v2/x/manifests/latest`) or an absolute URL (upload Location). */
  path: string | URL;
  headers?: Record<string, string>;
  body?: HttpRequest['body'];
  /** Token scopes this request needs, e.g. `repository:miner:pull`. */
  scopes: string[];
  signal?: AbortSignal;
  /** Body is a one-shot stream: never resend it (chunked upload PATCH). */
  noRetry?: boolean;
}

export interface RegistryClientOptions {
  send: HttpSend;
  auth: RegistryAuth;
  retry: RetryOptions;
  sleep: Sleep;
  userAgent: string;
  now?: () => number;
  random?: () => number;
}

const MAX_REDIRECTS = 10;

/**
 * One registry origin: adds auth, follows redirects itself (never sending Authorization to another
 * origin: distribution-spec "API", S3 pre-signed URLs), retries 429/5xx and network failures with
 * backoff honouring Retry-After, a bounded number of times. Status handling beyond that is the caller's.
 */
export class RegistryClient {
  constructor(
    readonly origin: URL,
    private readonly options: RegistryClientOptions,
  ) {}

  url(path: string | URL): URL {
    return path instanceof URL ? path : new URL(path, this.origin);
  }

  async request(request: RegistryRequest): Promise<HttpResponse> {
    const { retry } = this.options;
    const attempts = request.noRetry ? 1 : Math.max(1, retry.attempts);
    let challenges = 0;
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse;
      let authorization: string | undefined;
      let sentAuthorization = false;
      try {
        authorization = await this.options.auth.authorization(request.scopes, request.signal);
        ({ response, sentAuthorization } = await this.follow(request, authorization));
      } catch (err) {
        const retryable = err instanceof MinerhaulError && err.details?.retryable === true;
        if (!retryable || attempt >= attempts || request.signal?.aborted) throw err;
        await this.options.sleep(
          backoffDelay(retry, attempt, undefined, this.options.random),
          request.signal,
        );
        continue;
      }
      if (response.status === 401 && challenges < 2) {
        discard(response);
        challenges++;
        await this.options.auth.onChallenge(
          header(response, 'www-authenticate'),
          request.scopes,
          sentAuthorization,
          request.signal,
        );
        attempt--;
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        discard(response);
        throw new MinerhaulError('E_AUTH', `${request.method} ${response.url.pathname}: access refused`, {
          details: { status: response.status },
        });
      }
      if (isRetryableStatus(response.status) && attempt < attempts) {
        discard(response);
        const now = (this.options.now ?? Date.now)();
        const retryAfter = parseRetryAfter(header(response, 'retry-after'), now);
        await this.options.sleep(
          backoffDelay(retry, attempt, retryAfter, this.options.random),
          request.signal,
        );
        continue;
      }
      return response;
    }
  }

  private async follow(
    request: RegistryRequest,
    authorization: string | undefined,
  ): Promise<{ response: HttpResponse; sentAuthorization: boolean }> {
    let url = this.url(request.path);
    let method = request.method;
    let body = request.body;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent, ...request.headers };
      const sentAuthorization = authorization !== undefined && url.origin === this.origin.origin;
      if (sentAuthorization) headers.authorization = authorization;
      const response = await this.options.send({ method, url, headers, body, signal: request.signal });
      const location = header(response, 'location');
      if (![301, 302, 303, 307, 308].includes(response.status) || location === undefined) {
        return { response, sentAuthorization };
      }
      // Upload sessions answer 201/202 with Location; only 3xx are redirects to follow.
      discard(response);
      url = new URL(location, url);
      if (response.status === 303) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
      }
    }
    throw new MinerhaulError(
      'E_REGISTRY',
      `more than ${MAX_REDIRECTS} redirects for ${request.method} ${url}`,
    );
  }
}
