import { parseWwwAuthenticate } from '../../src/client/www-authenticate';
import { backoffDelay, isRetryableStatus, parseRetryAfter } from '../../src/client/retry-policy';
import { nextLink } from '../../src/client/registry-store';

describe('parseWwwAuthenticate', () => {
  it('parses a Bearer challenge with quoted commas and spaces in scope', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push repository:c:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull,push repository:c:pull',
        },
      },
    ]);
  });

  it('splits several challenges in one header and unescapes quotes', () => {
    const parsed = parseWwwAuthenticate(
      'Basic realm="a \\"b\\"", Bearer realm=https://x/t, error="insufficient_scope"',
    );
    expect(parsed.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(parsed[0]?.params.realm).toBe('a "b"');
    expect(parsed[1]?.params).toEqual({ realm: 'https://x/t', error: 'insufficient_scope' });
  });

  it('returns nothing for an empty header', () => {
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});

describe('retry policy', () => {
  it('retries 429 and 5xx, not 4xx', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 404, 501].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('prefers Retry-After, caps it, and backs off exponentially with jitter otherwise', () => {
    const opts = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(opts, 1, 700, () => 0.5)).toBe(700);
    expect(backoffDelay(opts, 1, 60_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(opts, 1, undefined, () => 0)).toBe(50);
    expect(backoffDelay(opts, 3, undefined, () => 1)).toBe(400);
  });
});

describe('nextLink', () => {
  it('finds rel="next" among several links', () => {
    expect(nextLink('</v2/x/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/x/tags/list?n=2&last=b');
    expect(nextLink('<https://a/prev>; rel="prev", <https://a/next>; rel="next"')).toBe('https://a/next');
    expect(nextLink('<https://a/prev>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
});
