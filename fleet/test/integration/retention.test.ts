import { generateDeviceKey } from '@minerhaul/fleet';
import { type TestFleet, adminGet, postReport, startTestFleet } from '../fleet-harness';
import { makeReport } from '../report-fixtures';

describe('retention and silence on the server clock', () => {
  let f: TestFleet;
  let now = Date.parse('2026-05-01T00:00:00Z');
  const DAY = 86_400_000;
  const early = generateDeviceKey();
  const late = generateDeviceKey();

  beforeAll(async () => {
    f = await startTestFleet({ now: () => now, retentionDays: 7, reportIntervalSeconds: 3600 });
  });
  afterAll(async () => {
    await f.close();
  });

  it('counts a device silent after two report intervals and forgets it after the retention period', async () => {
    expect((await postReport(f.url, early, makeReport(early.deviceId, {}, now))).status).toBe(202);
    now += 2 * 3600_000 + 60_000;
    expect((await postReport(f.url, late, makeReport(late.deviceId, {}, now))).status).toBe(202);
    let a = (await (await adminGet(f.url, '/v1/adoption')).json()) as {
      totals: { devices: number; silent: number };
    };
    expect(a.totals).toMatchObject({ devices: 2, silent: 1 });

    now += 7 * DAY - 3600_000;
    expect(await f.fleet.prune()).toMatchObject({ devices: 1 });
    expect(await f.store.getDevice(early.deviceId)).toBeUndefined();
    expect(await f.store.getDevice(late.deviceId)).toBeDefined();
    a = (await (await adminGet(f.url, '/v1/adoption')).json()) as {
      totals: { devices: number; silent: number };
    };
    expect(a.totals).toMatchObject({ devices: 1, silent: 1 });
  });

  it('judges staleness by the server clock, not the machine clock', async () => {
    const d = generateDeviceKey();
    const real = Date.now();
    const res = await postReport(f.url, d, makeReport(d.deviceId, {}, real));
    expect(res.status).toBe(409);
    expect(res.body.error?.reason).toBe('stale');
  });
});
