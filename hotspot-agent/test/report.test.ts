import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildReport,
  loadOrCreateDeviceIdentity,
  REPORT_HEADERS,
  ReportQueue,
  ReportSender,
  signReportBody,
  silentLogger,
  type AgentStatus,
  type PostFn,
} from '@minerhaul/hotspot-agent';
import {
  DEVICE_KEY_HEADER,
  SIGNATURE_HEADER,
  deviceIdFromPublicKey,
  publicKeyFromBase64,
  validateReport,
  verifyReportSignature,
} from '@minerhaul/fleet';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { release } from './helpers/agent-fixtures';

describe('device reports', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());

  function status(deviceId: string, extra: Partial<AgentStatus> = {}): AgentStatus {
    return {
      deviceId,
      agentVersion: '0.1.0',
      updatedAt: new Date().toISOString(),
      source: { kind: 'default', ref: 'registry.vendor.example/miner:stable' },
      phase: 'idle',
      rollbackCount: 0,
      consecutiveFailures: 0,
      reportSequence: 0,
      reportsQueued: 0,
      ...extra,
    };
  }

  describe('the device identity', () => {
    it('is created once (0600) and the same on the next start', async () => {
      const path = join(tmp.path, 'id', 'device.key');
      const first = await loadOrCreateDeviceIdentity(path);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const second = await loadOrCreateDeviceIdentity(path);
      expect(second.deviceId).toBe(first.deviceId);
      expect(first.deviceId).toBe(deviceIdFromPublicKey(first.publicKeyRaw.toString('base64')));
    });

    it('refuses a key file that is not a PEM private key with E_KEY', async () => {
      const path = join(tmp.path, 'bad.key');
      require('node:fs').writeFileSync(path, 'not a key');
      await expect(loadOrCreateDeviceIdentity(path)).rejects.toMatchObject({ code: 'E_KEY' });
    });
  });

  describe('a built and signed report', () => {
    it("validates against fleet's published schema and verifies with fleet's checker", async () => {
      const identity = await loadOrCreateDeviceIdentity(join(tmp.path, 'id2', 'device.key'));
      const report = buildReport(
        status(identity.deviceId, {
          current: release('2.0.0', 7),
          previous: release('1.0.0', 3),
          lastCheck: new Date().toISOString(),
          lastErrorCode: 'E_INCOMPATIBLE',
          rollbackCount: 1,
        }),
        5,
        new Date(),
      );
      expect(validateReport(report)).toEqual({ ok: true, report });
      const signed = signReportBody(identity, JSON.stringify(report));
      expect(REPORT_HEADERS).toEqual({ deviceKey: DEVICE_KEY_HEADER, signature: SIGNATURE_HEADER });
      const key = publicKeyFromBase64(signed.headers[DEVICE_KEY_HEADER] ?? '');
      expect(
        verifyReportSignature(key, Buffer.from(signed.body), signed.headers[SIGNATURE_HEADER] ?? ''),
      ).toBe(true);
      expect(
        verifyReportSignature(key, Buffer.from(signed.body + ' '), signed.headers[SIGNATURE_HEADER] ?? ''),
      ).toBe(false);
    });

    it('carries nothing beyond the listed fields (no IP, location or host name)', () => {
      const report = buildReport(status('0123456789abcdef0123456789abcdef'), 1, new Date());
      expect(Object.keys(report).sort()).toEqual(
        [
          'agentVersion',
          'current',
          'deviceId',
          'lastCheckAt',
          'lastError',
          'phase',
          'previous',
          'rollbackCount',
          'seq',
          'sentAt',
          'source',
          'type',
        ].sort(),
      );
      expect(report.current).toBeNull();
      expect(report.lastError).toBeNull();
    });
  });

  describe('ReportQueue', () => {
    it('returns reports oldest first and drops the oldest beyond its limit', async () => {
      const queue = new ReportQueue(join(tmp.path, 'q1'), 3);
      for (let i = 1; i <= 5; i++) await queue.push({ body: `{"n":${i}}`, headers: {} });
      const bodies = (await queue.list()).map((e) => e.report.body);
      expect(bodies).toEqual(['{"n":3}', '{"n":4}', '{"n":5}']);
    });

    it('drops an entry that is not a report, and keeps one it cannot read now for a later try', async () => {
      const dir = join(tmp.path, 'q-unreadable');
      const queue = new ReportQueue(dir, 10);
      await queue.push({ body: '{"n":1}', headers: {} });
      writeFileSync(join(dir, '000000000100.json'), 'not json');
      mkdirSync(join(dir, '000000000200.json')); // read fails with EISDIR, as an I/O error would
      expect((await queue.list()).map((e) => e.report.body)).toEqual(['{"n":1}']);
      const left = readdirSync(dir);
      expect(left).not.toContain('000000000100.json');
      expect(left).toContain('000000000200.json');
    });
  });

  describe('ReportSender', () => {
    const signedReport = (n: number) => ({
      body: `{"n":${n}}`,
      headers: { 'content-type': 'application/json' },
    });

    it('keeps reports while the fleet is unreachable and delivers them in order when it is back', async () => {
      const delivered: string[] = [];
      let up = false;
      const post: PostFn = async (_url, body) => {
        if (!up) throw new Error('ECONNREFUSED');
        delivered.push(body);
        return { status: 202, body: '' };
      };
      const queue = new ReportQueue(join(tmp.path, 'q2'), 10);
      const sender = new ReportSender('http://127.0.0.1:9', queue, silentLogger, post);
      expect(await sender.send(signedReport(1))).toEqual({ sent: 0, refused: 0, pending: 1 });
      expect(await sender.send(signedReport(2))).toEqual({ sent: 0, refused: 0, pending: 2 });
      up = true;
      expect(await sender.send(signedReport(3))).toEqual({ sent: 3, refused: 0, pending: 0 });
      expect(delivered).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
      expect(await queue.size()).toBe(0);
    });

    it('keeps reports on 5xx and 429, drops a report the fleet refuses for good (4xx)', async () => {
      const statuses = [503, 429, 400, 202];
      const post: PostFn = async () => ({ status: statuses.shift() ?? 202, body: '{"error":"x"}' });
      const queue = new ReportQueue(join(tmp.path, 'q3'), 10);
      const sender = new ReportSender('http://127.0.0.1:9/', queue, silentLogger, post);
      expect((await sender.send(signedReport(1))).pending).toBe(1);
      expect((await sender.flush()).pending).toBe(1);
      expect(await sender.flush()).toEqual({ sent: 0, refused: 1, pending: 0 });
      expect(await sender.send(signedReport(2))).toEqual({ sent: 1, refused: 0, pending: 0 });
    });

    it('posts to <fleet.url>/v1/reports', async () => {
      const urls: string[] = [];
      const post: PostFn = async (url) => {
        urls.push(url);
        return { status: 200, body: '' };
      };
      await new ReportSender(
        'http://127.0.0.1:7000/',
        new ReportQueue(join(tmp.path, 'q4'), 2),
        silentLogger,
        post,
      ).send(signedReport(1));
      expect(urls).toEqual(['http://127.0.0.1:7000/v1/reports']);
    });
  });
});
