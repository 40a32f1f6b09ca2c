import { Readable } from 'node:stream';
import { isMinerhaulError } from '@minerhaul/signing';
import type { HttpRequest, HttpResponse } from '@minerhaul/registry-tools';
import { RegistryAuth } from '../../src/client/registry-auth';

const challenge = 'Bearer realm="https://auth.example/token",service="reg",scope="repository:m:pull"';

/** A token endpoint of the test's own: records requests, answers with numbered tokens. */
function tokenEndpoint(body: (n: number) => Record<string, unknown>, status = 200) {
  const requests: HttpRequest[] = [];
  const send = async (req: HttpRequest): Promise<HttpResponse> => {
    requests.push(req);
    return {
      status,
      headers: { 'content-type': 'application/json' },
      url: req.url,
      body: Readable.from([Buffer.from(JSON.stringify(body(requests.length)))]),
    };
  };
  return { requests, send };
}

describe('RegistryAuth', () => {
  describe('when tokens are cached', () => {
    it('reuses a token per scope set until 30 s before it expires, then fetches a new one', async () => {
      let now = Date.parse('2026-01-01T00:00:00Z');
      const endpoint = tokenEndpoint((n) => ({ token: `t${n}`, expires_in: 300 }));
      const auth = new RegistryAuth({
        send: endpoint.send,
        userAgent: 'test',
        allowHttp: () => false,
        now: () => now,
      });
      await auth.onChallenge(challenge, ['repository:m:pull'], false);
      expect(await auth.authorization(['repository:m:pull'])).toBe('Bearer t1');
      now += 269_000;
      expect(await auth.authorization(['repository:m:pull'])).toBe('Bearer t1');
      now += 2_000;
      expect(await auth.authorization(['repository:m:pull'])).toBe('Bearer t2');
      // Another scope set is another token; scope order does not matter.
      expect(await auth.authorization(['repository:m:pull,push', 'repository:o:pull'])).toBe('Bearer t3');
      expect(await auth.authorization(['repository:o:pull', 'repository:m:pull,push'])).toBe('Bearer t3');
      expect(endpoint.requests).toHaveLength(3);
      expect(endpoint.requests[2]?.url.searchParams.getAll('scope')).toEqual([
        'repository:m:pull,push',
        'repository:o:pull',
      ]);
      expect(endpoint.requests[0]?.url.searchParams.get('service')).toBe('reg');
    });

    it('clamps lifetimes under 60 s to 60 s and prefers access_token', async () => {
      let now = 0;
      const endpoint = tokenEndpoint((n) => ({ token: `old${n}`, access_token: `new${n}`, expires_in: 5 }));
      const auth = new RegistryAuth({
        send: endpoint.send,
        userAgent: 'test',
        allowHttp: () => false,
        now: () => now,
      });
      await auth.onChallenge(challenge, ['repository:m:pull'], false);
      now += 29_000;
      expect(await auth.authorization(['repository:m:pull'])).toBe('Bearer new1');
      now += 2_000;
      expect(await auth.authorization(['repository:m:pull'])).toBe('Bearer new2');
    });
  });

  describe('when credentials are known', () => {
    it('sends them to the token realm as Basic with account=', async () => {
      const endpoint = tokenEndpoint(() => ({ token: 't' }));
      const auth = new RegistryAuth({
        send: endpoint.send,
        userAgent: 'test',
        allowHttp: () => false,
        credentials: { username: 'maint', password: 'pw' },
      });
      await auth.onChallenge(challenge, ['repository:m:pull'], false);
      expect(endpoint.requests[0]?.headers?.authorization).toBe(
        `Basic ${Buffer.from('maint:pw').toString('base64')}`,
      );
      expect(endpoint.requests[0]?.url.searchParams.get('account')).toBe('maint');
    });
  });

  describe('when the token endpoint misbehaves', () => {
    it.each([
      ['refuses', tokenEndpoint(() => ({}), 401), 'E_AUTH'],
      ['answers without a token', tokenEndpoint(() => ({ expires_in: 60 })), 'E_AUTH'],
      ['fails', tokenEndpoint(() => ({}), 500), 'E_REGISTRY'],
    ])('%s: %s', async (_what, endpoint, code) => {
      const auth = new RegistryAuth({ send: endpoint.send, userAgent: 'test', allowHttp: () => false });
      let caught: unknown;
      try {
        await auth.onChallenge(challenge, ['repository:m:pull'], false);
      } catch (err) {
        caught = err;
      }
      expect(isMinerhaulError(caught, code as 'E_AUTH')).toBe(true);
    });

    it('refuses a challenge it cannot answer with E_AUTH', async () => {
      const auth = new RegistryAuth({
        send: tokenEndpoint(() => ({})).send,
        userAgent: 'test',
        allowHttp: () => false,
      });
      await expect(auth.onChallenge('Negotiate', [], false)).rejects.toMatchObject({ code: 'E_AUTH' });
      await expect(auth.onChallenge(undefined, [], false)).rejects.toMatchObject({ code: 'E_AUTH' });
    });
  });
});
