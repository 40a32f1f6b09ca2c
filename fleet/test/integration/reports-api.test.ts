import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import {
  type AdoptionReport,
  DEVICE_KEY_HEADER,
  SIGNATURE_HEADER,
  generateDeviceKey,
  signReport,
} from '@minerhaul/fleet';
import { ADMIN_TOKEN, type TestFleet, adminGet, postReport, startTestFleet } from '../fleet-harness';
import { makeReport, release } from '../report-fixtures';

async function adoption(f: TestFleet): Promise<AdoptionReport> {
  const res = await adminGet(f.url, '/v1/adoption');
  expect(res.status).toBe(200);
  return (await res.json()) as AdoptionReport;
}

async function refusedCount(f: TestFleet, reason: string): Promise<number> {
  const text = await (await adminGet(f.url, '/metrics')).text();
  const m = new RegExp(`minerhaul_fleet_reports_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text);
  return Number(m?.[1] ?? NaN);
}

/** POST with a chunked body and no content-length, so only the streaming limit can stop it. */
function postChunked(
  url: string,
  headers: Record<string, string>,
  chunks: number,
  size: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/reports`, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    const piece = Buffer.alloc(size, 0x20);
    for (let i = 0; i < chunks; i++) req.write(piece);
    req.end();
  });
}

describe('POST /v1/reports', () => {
  let f: TestFleet;
  const device = generateDeviceKey();
  const intruder = generateDeviceKey();

  beforeAll(async () => {
    f = await startTestFleet({ maxReportBytes: 4096 });
  });
  afterAll(async () => {
    await f.close();
  });

  describe('when a device reports correctly', () => {
    it('accepts it (202), registers the key and shows it in /v1/adoption', async () => {
      const res = await postReport(f.url, device, makeReport(device.deviceId, { seq: 10 }));
      expect(res.status).toBe(202);
      const stored = await f.store.getDevice(device.deviceId);
      expect(stored).toMatchObject({ publicKey: device.publicKeyBase64, lastSeq: 10, version: '1.0.0' });
      const a = await adoption(f);
      expect(a.totals.devices).toBe(1);
      expect(a.byVersion).toEqual([expect.objectContaining({ version: '1.0.0', devices: 1, default: 1 })]);
    });

    it('accepts the next report and moves the device to its new version', async () => {
      const res = await postReport(
        f.url,
        device,
        makeReport(device.deviceId, { seq: 11, current: release('2.0.0', 2), phase: 'committed' }),
      );
      expect(res.status).toBe(202);
      const a = await adoption(f);
      expect(a.byVersion.map((v) => [v.version, v.devices])).toEqual([['2.0.0', 1]]);
      expect(a.series.versions.find((v) => v.version === '2.0.0')?.devices.at(-1)).toBe(1);
    });
  });

  describe('when a report is forged, replayed, stale, malformed or oversized', () => {
    const latest = (): ReturnType<typeof makeReport> => makeReport(device.deviceId, { seq: 11 });
    const next = (o = {}): ReturnType<typeof makeReport> =>
      makeReport(device.deviceId, { seq: 12, phase: 'failed', lastError: 'E_TLS', ...o });

    const cases: Array<[string, () => ReturnType<typeof postReport>, number, string, string]> = [
      [
        'signed by another key under the device key header',
        () =>
          postReport(f.url, device, next(), (r) => ({
            ...r,
            headers: { ...r.headers, [SIGNATURE_HEADER]: signReport(intruder.privateKey, r.body) },
          })),
        401,
        'bad-signature',
        'E_SIGNATURE',
      ],
      [
        'changed after signing',
        () =>
          postReport(f.url, device, next(), (r) => ({
            ...r,
            body: r.body.toString().replace('"E_TLS"', '"E_KEY"'),
          })),
        401,
        'bad-signature',
        'E_SIGNATURE',
      ],
      [
        'unsigned',
        () =>
          postReport(f.url, device, next(), (r) => ({
            ...r,
            headers: { 'content-type': 'application/json' },
          })),
        401,
        'missing-signature',
        'E_SIGNATURE',
      ],
      [
        'sent with a garbage key header',
        () =>
          postReport(f.url, device, next(), (r) => ({
            ...r,
            headers: { ...r.headers, [DEVICE_KEY_HEADER]: 'AAAA' },
          })),
        401,
        'bad-signature',
        'E_SIGNATURE',
      ],
      [
        'signed by a new key for a registered id',
        () => postReport(f.url, intruder, next()),
        403,
        'key-changed',
        'E_KEY',
      ],
      ['replayed byte for byte', () => postReport(f.url, device, latest()), 409, 'replayed', 'E_ROLLBACK'],
      [
        'older than the last accepted one',
        () => postReport(f.url, device, next({ seq: 3 })),
        409,
        'replayed',
        'E_ROLLBACK',
      ],
      [
        'stale (sent an hour ago)',
        () => postReport(f.url, device, next({ sentAt: new Date(Date.now() - 3600_000).toISOString() })),
        409,
        'stale',
        'E_EXPIRED',
      ],
      [
        'from the future (clock an hour ahead)',
        () => postReport(f.url, device, next({ sentAt: new Date(Date.now() + 3600_000).toISOString() })),
        409,
        'stale',
        'E_EXPIRED',
      ],
      [
        'not JSON',
        () =>
          postReport(f.url, device, {}, (r) => {
            const body = Buffer.from('{"seq": 12,');
            return {
              body,
              headers: { ...r.headers, [SIGNATURE_HEADER]: signReport(device.privateKey, body) },
            };
          }),
        400,
        'bad-json',
        'E_CONFIG',
      ],
      [
        'against the schema (extra field)',
        () => postReport(f.url, device, { ...next(), ip: '192.0.2.7' }),
        400,
        'schema',
        'E_CONFIG',
      ],
      [
        'sent as text/plain',
        () =>
          postReport(f.url, device, next(), (r) => ({
            ...r,
            headers: { ...r.headers, 'content-type': 'text/plain' },
          })),
        415,
        'unsupported-media-type',
        'E_CONFIG',
      ],
      [
        'larger than the limit',
        () =>
          postReport(f.url, device, next({ source: { kind: 'custom', ref: 'x'.repeat(500) } }), (r) => {
            const body = Buffer.concat([
              r.body.subarray(0, -1),
              Buffer.from(`,"pad":"${'p'.repeat(5000)}"}`),
            ]);
            return {
              body,
              headers: { ...r.headers, [SIGNATURE_HEADER]: signReport(device.privateKey, body) },
            };
          }),
        413,
        'too-large',
        'E_CONFIG',
      ],
    ];

    it.each(cases)(
      'refuses a report %s, counts it and changes nothing',
      async (_n, send, status, reason, code) => {
        const before = await f.store.getDevice(device.deviceId);
        const countBefore = await refusedCount(f, reason);
        const res = await send();
        expect(res.status).toBe(status);
        expect(res.body.error).toMatchObject({ reason, code });
        expect(await f.store.getDevice(device.deviceId)).toEqual(before);
        expect(await refusedCount(f, reason)).toBe(countBefore + 1);
        expect((await adoption(f)).totals).toMatchObject({ devices: 1, failing: 0 });
      },
    );

    it('names the offending path of a schema error', async () => {
      const res = await postReport(f.url, device, { ...next(), seq: -1 });
      expect(res.status).toBe(400);
      expect(res.body.error?.details).toEqual({
        issues: expect.arrayContaining([expect.objectContaining({ path: '/seq' })]),
      });
    });

    it('stops reading a chunked body at the limit (no content-length)', async () => {
      const countBefore = await refusedCount(f, 'too-large');
      const status = await postChunked(
        f.url,
        {
          'content-type': 'application/json',
          [DEVICE_KEY_HEADER]: device.publicKeyBase64,
          [SIGNATURE_HEADER]: 'x',
        },
        64,
        1024,
      );
      expect(status).toBe(413);
      expect(await refusedCount(f, 'too-large')).toBe(countBefore + 1);
    });

    it('keeps no client address anywhere in the database', async () => {
      const bytes = readFileSync(f.dbPath);
      const wal = (() => {
        try {
          return readFileSync(`${f.dbPath}-wal`);
        } catch {
          return Buffer.alloc(0);
        }
      })();
      expect(bytes.includes('127.0.0.1')).toBe(false);
      expect(wal.includes('127.0.0.1')).toBe(false);
      expect(bytes.includes(device.deviceId) || wal.includes(device.deviceId)).toBe(true);
    });
  });

  describe('admin endpoints', () => {
    it.each(['/v1/adoption', '/metrics'])('refuse %s without the token or with a wrong one', async (path) => {
      expect((await fetch(`${f.url}${path}`)).status).toBe(401);
      expect((await adminGet(f.url, path, 'wrong-token-wrong-token')).status).toBe(401);
      expect((await adminGet(f.url, path, ADMIN_TOKEN)).status).toBe(200);
    });

    it('logs in with the token into an HttpOnly, SameSite=Strict session, and out again', async () => {
      const wrong = await fetch(`${f.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=guess-guess-guess',
        redirect: 'manual',
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('set-cookie')).toBeNull();
      const login = await fetch(`${f.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${encodeURIComponent(ADMIN_TOKEN)}`,
        redirect: 'manual',
      });
      expect(login.status).toBe(303);
      const setCookie = login.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(/HttpOnly/i);
      expect(setCookie).toMatch(/SameSite=Strict/i);
      const cookie = setCookie.split(';')[0] ?? '';
      const page = await fetch(`${f.url}/`, { headers: { cookie } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('adoption-chart');
      expect((await fetch(`${f.url}/v1/adoption`, { headers: { cookie } })).status).toBe(200);
      await fetch(`${f.url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
      expect((await fetch(`${f.url}/v1/adoption`, { headers: { cookie } })).status).toBe(401);
      const after = await fetch(`${f.url}/`, { headers: { cookie } });
      expect(after.status).toBe(401);
      expect(await after.text()).not.toContain('adoption-chart');
    });

    it('refuses an oversized login form with 413, not a server error', async () => {
      const res = await fetch(`${f.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${'x'.repeat(10_000)}`,
      });
      expect(res.status).toBe(413);
    });

    it('exports devices by version and source, and accepted reports, to Prometheus', async () => {
      const text = await (await adminGet(f.url, '/metrics')).text();
      expect(text).toMatch(/minerhaul_fleet_devices\{version="2\.0\.0",source="default",status="ok"\} 1/);
      expect(text).toMatch(/minerhaul_fleet_reports_accepted_total 2/);
    });

    it('forget a re-keyed device so that its new key can register (DELETE /v1/devices/:id)', async () => {
      const rekeyed = generateDeviceKey();
      const id = 'rekeyed-device-01';
      expect((await postReport(f.url, rekeyed, makeReport(id, { seq: 1 }))).status).toBe(202);
      const newKey = generateDeviceKey();
      expect((await postReport(f.url, newKey, makeReport(id, { seq: 1 }))).body.error?.reason).toBe(
        'key-changed',
      );
      const unauthorized = await fetch(`${f.url}/v1/devices/${id}`, { method: 'DELETE' });
      expect(unauthorized.status).toBe(401);
      const del = await fetch(`${f.url}/v1/devices/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(del.status).toBe(204);
      const again = await fetch(`${f.url}/v1/devices/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(again.status).toBe(404);
      expect((await postReport(f.url, newKey, makeReport(id, { seq: 1 }))).status).toBe(202);
      expect((await f.store.getDevice(id))?.publicKey).toBe(newKey.publicKeyBase64);
      await f.store.deleteDevice(id);
    });
  });
});

describe('POST /v1/reports with an allow-list', () => {
  let f: TestFleet;
  const allowed = generateDeviceKey();
  const stranger = generateDeviceKey();

  beforeAll(async () => {
    f = await startTestFleet({ allowedKeys: [allowed.publicKeyBase64] });
  });
  afterAll(async () => {
    await f.close();
  });

  it('accepts a listed key and refuses any other (403 not-allowed)', async () => {
    expect((await postReport(f.url, allowed, makeReport(allowed.deviceId))).status).toBe(202);
    const res = await postReport(f.url, stranger, makeReport(stranger.deviceId));
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ reason: 'not-allowed', code: 'E_KEY' });
    expect(await f.store.getDevice(stranger.deviceId)).toBeUndefined();
  });
});
