import { createHash, type KeyObject } from 'node:crypto';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DeviceReport, REPORT_TYPE, type ReportRelease } from './device-report';
import { MinerhaulError } from './errors';
import { type RawResponse, RawHttpConnection } from './raw-http-client';
import {
  DEVICE_KEY_HEADER,
  REPORT_CONTENT_TYPE,
  SIGNATURE_HEADER,
  generateDeviceKey,
  signReport,
} from './report-signature';

export interface SimulateOptions {
  url: string;
  devices: number;
  durationSeconds: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Reports per second over all devices; 0 = as fast as the server answers (load test). */
  ratePerSecond: number;
  /** Hard cap on reports sent, whatever the duration. */
  maxReports: number;
  customShare: number;
  failureShare: number;
  silentShare: number;
  seed: number;
  signal?: AbortSignal;
}

export const SIMULATE_LIMITS = { devices: 200_000, durationSeconds: 3600, concurrency: 512 } as const;

export const DEFAULT_SIMULATE_OPTIONS = {
  durationSeconds: 30,
  concurrency: 32,
  ratePerSecond: 0,
  maxReports: 10_000_000,
  customShare: 0.1,
  failureShare: 0.04,
  silentShare: 0.05,
  seed: 1,
} satisfies Partial<SimulateOptions>;

export interface SimulateResult {
  devices: number;
  sent: number;
  accepted: number;
  refused: number;
  /** Requests that got no HTTP answer (connection refused, timeout). */
  failed: number;
  refusedByReason: Record<string, number>;
  seconds: number;
  acceptedPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number };
}

/** The simulated releases: everyone starts on BASE and the fleet moves to NEXT along a logistic curve. */
const BASE: ReportRelease = release('1.0.0', 1);
const NEXT: ReportRelease = release('1.1.0', 2);
const CUSTOM: ReportRelease = release('1.1.0-community', 7);
const DEFAULT_REF = 'registry.minerhaul.example/miner:stable';
const CUSTOM_REF = 'oci.community.example/miner:stable';

function release(version: string, sequence: number): ReportRelease {
  return { digest: `sha256:${createHash('sha256').update(version).digest('hex')}`, version, sequence };
}

/** mulberry32: a small seeded generator, so a demo replays the same fleet. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimDevice {
  id: string;
  key: KeyObject;
  publicKey: string;
  seq: number;
  kind: 'default' | 'custom' | 'failing' | 'incompatible';
  /** Fraction of the run at which it takes NEXT. */
  adoptAt: number;
  /** Fraction of the run after which it stops reporting (1 = never). */
  silentAfter: number;
  busy: boolean;
}

function makeDevices(o: SimulateOptions): SimDevice[] {
  const random = rng(o.seed);
  const devices: SimDevice[] = [];
  for (let i = 0; i < o.devices; i++) {
    const k = generateDeviceKey();
    const r = random();
    const kind =
      r < o.customShare
        ? 'custom'
        : r < o.customShare + o.failureShare * 0.75
          ? 'failing'
          : r < o.customShare + o.failureShare
            ? 'incompatible'
            : 'default';
    // Logistic adoption (inverse CDF): half the fleet by 40% of the run, most by 80%.
    const u = Math.min(Math.max(random(), 1e-6), 1 - 1e-6);
    const adoptAt = 0.4 + Math.log(u / (1 - u)) / 12;
    devices.push({
      id: k.deviceId,
      key: k.privateKey,
      publicKey: k.publicKeyBase64,
      seq: 0,
      kind,
      adoptAt,
      silentAfter: random() < o.silentShare ? 0.5 : 2,
      busy: false,
    });
  }
  return devices;
}

/** The report a device would send at `progress` (0..1) of the run. */
function simulatedReport(d: SimDevice, progress: number, now: number): DeviceReport {
  return {
    type: REPORT_TYPE,
    deviceId: d.id,
    agentVersion: d.kind === 'incompatible' ? '0.9.0' : '0.1.0',
    seq: d.seq,
    sentAt: new Date(now).toISOString(),
    lastCheckAt: new Date(now - 1000).toISOString(),
    ...simulatedState(d, progress),
  };
}

type ReleaseState = Pick<
  DeviceReport,
  'source' | 'current' | 'previous' | 'phase' | 'lastError' | 'rollbackCount'
>;

/** Where a device stands on the adoption curve at `progress`. */
function simulatedState(d: SimDevice, progress: number): ReleaseState {
  if (d.kind === 'custom') {
    return {
      source: { kind: 'custom', ref: CUSTOM_REF },
      current: CUSTOM,
      previous: BASE,
      phase: 'idle',
      lastError: null,
      rollbackCount: 0,
    };
  }
  const onBase = {
    source: { kind: 'default', ref: DEFAULT_REF },
    current: BASE,
    previous: null,
    lastError: null,
    rollbackCount: 0,
  } as const;
  if (progress < d.adoptAt) return { ...onBase, phase: 'idle' };
  if (d.kind === 'failing')
    return { ...onBase, phase: 'rolled-back', lastError: 'E_HEALTH', rollbackCount: 1 };
  if (d.kind === 'incompatible') return { ...onBase, phase: 'failed', lastError: 'E_INCOMPATIBLE' };
  // A short window after taking the release the device is still downloading it.
  if (progress < d.adoptAt + 0.03) return { ...onBase, phase: 'downloading' };
  return { ...onBase, current: NEXT, previous: BASE, phase: 'committed' };
}

function checkOptions(o: SimulateOptions): URL {
  let url: URL;
  try {
    url = new URL('/v1/reports', o.url);
  } catch {
    throw new MinerhaulError('E_CONFIG', `invalid fleet URL '${o.url}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MinerhaulError('E_CONFIG', `fleet URL must be http(s): '${o.url}'`);
  }
  const int = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new MinerhaulError('E_CONFIG', `${name} must be an integer from ${min} to ${max}`);
    }
  };
  int('devices', o.devices, 1, SIMULATE_LIMITS.devices);
  int('duration', o.durationSeconds, 1, SIMULATE_LIMITS.durationSeconds);
  int('concurrency', o.concurrency, 1, SIMULATE_LIMITS.concurrency);
  int('rate', o.ratePerSecond, 0, 1_000_000);
  int('max reports', o.maxReports, 1, 100_000_000);
  for (const [name, v] of [
    ['custom share', o.customShare],
    ['failure share', o.failureShare],
    ['silent share', o.silentShare],
  ] as const) {
    if (!(v >= 0 && v <= 1)) throw new MinerhaulError('E_CONFIG', `${name} must be between 0 and 1`);
  }
  return url;
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);

/**
 * N devices, each with its own ed25519 key, sending signed reports along an adoption curve for a
 * bounded time and count. Each device has at most one report in flight, so its sequence numbers
 * arrive in order.
 */
export async function simulateFleet(options: SimulateOptions): Promise<SimulateResult> {
  const target = checkOptions(options);
  const devices = makeDevices(options);
  const https = target.protocol === 'https:';
  const concurrency = Math.min(options.concurrency, devices.length);
  // https goes through node:https; plain http through one raw keep-alive connection per worker.
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: concurrency }) : undefined;
  const connections: RawHttpConnection[] = [];
  const started = Date.now();
  const endAt = started + options.durationSeconds * 1000;
  const result = {
    sent: 0,
    accepted: 0,
    refused: 0,
    failed: 0,
    refusedByReason: {} as Record<string, number>,
  };
  const latencies: number[] = [];
  const MAX_LATENCY_SAMPLES = 200_000;
  let next = 0;
  let scheduled = 0;

  const postHttps = (body: Buffer, headers: Record<string, string | number>): Promise<RawResponse> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(target, { method: 'POST', agent, headers, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    });

  const worker = async (): Promise<void> => {
    const connection = https ? undefined : new RawHttpConnection(target);
    if (connection !== undefined) connections.push(connection);
    const post = (body: Buffer, headers: Record<string, string | number>): Promise<RawResponse> =>
      connection === undefined ? postHttps(body, headers) : connection.post(target.pathname, headers, body);
    for (;;) {
      if (options.signal?.aborted || Date.now() >= endAt || scheduled >= options.maxReports) return;
      if (options.ratePerSecond > 0) {
        const due = started + (scheduled / options.ratePerSecond) * 1000;
        scheduled++;
        const wait = due - Date.now();
        if (wait > 0) await sleep(Math.min(wait, endAt - Date.now()));
        if (Date.now() >= endAt) return;
      } else {
        scheduled++;
      }
      const now = Date.now();
      const progress = (now - started) / (endAt - started);
      let d: SimDevice | undefined;
      for (let tries = 0; tries < devices.length; tries++) {
        const c = devices[next % devices.length];
        next++;
        if (c !== undefined && !c.busy && progress < c.silentAfter) {
          d = c;
          break;
        }
      }
      if (d === undefined) {
        // Every device is busy or silent: nothing to send right now.
        await sleep(5);
        continue;
      }
      d.busy = true;
      d.seq++;
      const body = Buffer.from(JSON.stringify(simulatedReport(d, progress, now)), 'utf8');
      const headers = {
        'content-type': REPORT_CONTENT_TYPE,
        'content-length': body.length,
        [DEVICE_KEY_HEADER]: d.publicKey,
        [SIGNATURE_HEADER]: signReport(d.key, body),
      };
      result.sent++;
      const t0 = performance.now();
      try {
        const res = await post(body, headers);
        if (latencies.length < MAX_LATENCY_SAMPLES) latencies.push(performance.now() - t0);
        if (res.status === 202) result.accepted++;
        else {
          result.refused++;
          let reason = `http-${res.status}`;
          try {
            reason = (JSON.parse(res.body) as { error?: { reason?: string } }).error?.reason ?? reason;
          } catch {
            // not our server's JSON: keep the status as the reason
          }
          result.refusedByReason[reason] = (result.refusedByReason[reason] ?? 0) + 1;
        }
      } catch {
        result.failed++;
        // The server is down or overloaded: back off a little instead of spinning.
        await sleep(10);
      } finally {
        d.busy = false;
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
  } finally {
    agent?.destroy();
    for (const c of connections) c.close();
  }
  const seconds = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    devices: devices.length,
    ...result,
    seconds,
    acceptedPerSecond: result.accepted / seconds,
    latencyMs: {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      p99: percentile(latencies, 0.99),
    },
  };
}
