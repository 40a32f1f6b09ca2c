import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { AgentDaemon, OWNER_HEADERS, parseListenAddress, signOwnerRequest } from '@minerhaul/hotspot-agent';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { baseConfig, makeOwnerKey, release, scriptedFactory, writeConfig } from './helpers/agent-fixtures';

describe('api.listen', () => {
  it('binds 127.0.0.1 unless a host is named', () => {
    expect(parseListenAddress('7373')).toEqual({ host: '127.0.0.1', port: 7373 });
    expect(parseListenAddress(':7373')).toEqual({ host: '127.0.0.1', port: 7373 });
    expect(parseListenAddress('0.0.0.0:7373')).toEqual({ host: '0.0.0.0', port: 7373 });
    expect(parseListenAddress('[::1]:7373')).toEqual({ host: '::1', port: 7373 });
  });
});

describe('local API', () => {
  const tmp = makeTmpDir();
  const owner = makeOwnerKey('owner');
  const stranger = makeOwnerKey('stranger');
  const engines = scriptedFactory();
  let daemon: AgentDaemon;
  let base: string;
  let configPath: string;
  const custom = { ref: '127.0.0.1:5001/owner/miner:stable', pinnedCert: '/etc/minerhaul/pin.pem' };

  beforeAll(async () => {
    configPath = writeConfig(
      tmp.path,
      baseConfig(tmp.path, {
        api: { listen: '0', ownerKeys: [owner.line] }, // a bare port: 127.0.0.1 by default
        runtime: { kind: 'bubblewrap', env: { WALLET_SECRET: 'do-not-echo-me' } },
        schedule: { cron: '*/15 * * * *', jitterSeconds: 0 },
      }),
    );
    daemon = await AgentDaemon.open({
      configPath,
      engineFactory: engines.factory,
      cronTrigger: () => ({ stop: () => undefined }),
    });
    await daemon.start();
    base = daemon.apiAddress ?? '';
  });
  afterAll(async () => {
    await daemon.stop();
    tmp.cleanup();
  });

  const put = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  describe('GET /v1/status', () => {
    it('returns the status, on 127.0.0.1 when api.listen names only a port', async () => {
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${base}/v1/status`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { deviceId: string; source: { kind: string } };
      expect(body.deviceId).toBe(daemon.deviceId);
      expect(body.source.kind).toBe('default');
    });
  });

  describe('POST /v1/check', () => {
    it('runs a cycle and returns its outcome; GET /v1/history then lists it', async () => {
      engines.engines.at(-1)?.steps.push({ outcome: 'updated', release: release('1.0.0', 1) });
      const res = await fetch(`${base}/v1/check`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ outcome: 'updated', release: { version: '1.0.0' } });
      const history = (await (await fetch(`${base}/v1/history`)).json()) as {
        history: { outcome: string }[];
      };
      expect(history.history.map((h) => h.outcome)).toEqual(['updated']);
    });
  });

  describe('PUT /v1/config', () => {
    it('accepts an unsigned schedule change', async () => {
      const res = await put({ schedule: { cron: '0 * * * *', jitterSeconds: 0 } });
      expect(res.status).toBe(200);
      expect(JSON.parse(readFileSync(configPath, 'utf8')).schedule.cron).toBe('0 * * * *');
    });

    it('refuses an unsigned source change with 401 and changes nothing', async () => {
      const before = readFileSync(configPath, 'utf8');
      const res = await put({ source: custom });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_SIGNATURE');
      expect(readFileSync(configPath, 'utf8')).toBe(before);
      expect(daemon.snapshot().source.kind).toBe('default');
    });

    it('refuses a source change signed by a key that is not an owner key', async () => {
      const headers = signOwnerRequest(stranger.secret, {
        method: 'PUT',
        path: '/v1/config',
        body: { source: custom },
      });
      expect((await put({ source: custom }, headers)).status).toBe(401);
      expect(daemon.snapshot().source.kind).toBe('default');
    });

    it('refuses a signed request whose body was changed', async () => {
      const headers = signOwnerRequest(owner.secret, {
        method: 'PUT',
        path: '/v1/config',
        body: { source: custom },
      });
      expect((await put({ source: { ...custom, insecure: true } }, headers)).status).toBe(401);
      expect(daemon.snapshot().source.kind).toBe('default');
    });

    it('applies an owner-signed source change once, refuses its replay, and never echoes secrets', async () => {
      const headers = signOwnerRequest(owner.secret, {
        method: 'PUT',
        path: '/v1/config',
        body: { source: custom },
      });
      const res = await put({ source: custom }, headers);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(JSON.parse(text)).toMatchObject({ changed: ['source'] });
      expect(text).not.toContain('do-not-echo-me');
      expect(daemon.snapshot().source).toEqual({ kind: 'custom', ref: custom.ref });
      expect(engines.sources.at(-1)).toBe(`custom:${custom.ref}`);
      expect(JSON.parse(readFileSync(configPath, 'utf8')).source).toEqual(custom);

      await put(
        { source: null },
        signOwnerRequest(owner.secret, { method: 'PUT', path: '/v1/config', body: { source: null } }),
      );
      expect(daemon.snapshot().source.kind).toBe('default');
      const replay = await put({ source: custom }, headers);
      expect(replay.status).toBe(401);
      expect(daemon.snapshot().source.kind).toBe('default');
    });

    it('refuses an owner-signed but invalid config with 400 E_CONFIG naming the path', async () => {
      const body = { trust: { keys: [] } };
      const res = await put(
        body,
        signOwnerRequest(owner.secret, { method: 'PUT', path: '/v1/config', body }),
      );
      expect(res.status).toBe(400);
      const error = ((await res.json()) as { error: { code: string; errors: string[] } }).error;
      expect(error.code).toBe('E_CONFIG');
      expect(error.errors.some((e) => e.startsWith('/trust/keys'))).toBe(true);
    });

    it('refuses malformed JSON and oversized bodies', async () => {
      expect((await put('{"source": ')).status).toBe(400);
      expect((await put(JSON.stringify({ schedule: { cron: 'x'.repeat(100_000) } }))).status).toBe(413);
    });

    it('refuses a nonce and timestamp sent without a signature', async () => {
      const res = await put(
        { source: custom },
        { [OWNER_HEADERS.nonce]: 'x'.repeat(20), [OWNER_HEADERS.timestamp]: '1' },
      );
      expect(res.status).toBe(401);
    });
  });

  describe('GET /v1/config', () => {
    it('returns the config without secrets', async () => {
      const text = await (await fetch(`${base}/v1/config`)).text();
      expect(text).toContain('stateDir');
      expect(text).not.toContain('do-not-echo-me');
    });
  });

  describe('an unknown endpoint', () => {
    it('returns 404', async () => {
      expect((await fetch(`${base}/v1/nope`)).status).toBe(404);
    });
  });

  describe('a request through a foreign host name (DNS rebinding)', () => {
    const getWithHost = (host: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request(`${base}/v1/status`, { headers: { host } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });

    it('is refused with 403 E_AUTH, while IP literals and localhost are served', async () => {
      const port = new URL(base).port;
      const foreign = await getWithHost(`attacker.example:${port}`);
      expect(foreign.status).toBe(403);
      expect(JSON.parse(foreign.body).error.code).toBe('E_AUTH');
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
        expect((await getWithHost(host)).status).toBe(200);
      }
    });
  });
});
