import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { AdminAuth, SESSION_COOKIE, sessionFromCookie } from './admin-auth';
import { bucketStart, buildAdoptionReport, windowStart } from './adoption-view';
import { MinerhaulError } from './errors';
import { createFleetMetrics, type FleetMetrics } from './fleet-metrics';
import type { FleetStore } from './fleet-store';
import { handleReport } from './report-route';
import { WriteQueue } from './write-queue';

export interface FleetServerOptions {
  store: FleetStore;
  /** Guards the dashboard, /v1/adoption and /metrics. */
  adminToken: string;
  /** How often devices report; silent = no report for two intervals. */
  reportIntervalSeconds: number;
  /** Width of one history bucket (the time series' resolution). */
  bucketSeconds: number;
  /** Buckets in the time series returned by /v1/adoption. */
  seriesPoints: number;
  /** Devices silent and history older than this are deleted. */
  retentionDays: number;
  maxReportBytes: number;
  maxReportAgeSeconds: number;
  maxClockSkewSeconds: number;
  /** Raw base64 device keys; when set, only they may report. */
  allowedKeys?: readonly string[];
  /** Devices listed per category (failing, rolled back, silent). */
  listLimit: number;
  batch: { maxBatch: number; maxDelayMs: number };
  now?: () => number;
  /** Unexpected errors (store down, bugs); never a client address. */
  onError?: (err: unknown) => void;
}

export interface FleetServer {
  server: Server;
  metrics: FleetMetrics;
  /** Binds to host:port; returns the base URL. */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, writes queued reports, closes the store. */
  close(): Promise<void>;
  /** Runs retention once now (also runs on a timer while listening). */
  prune(): Promise<{ devices: number; history: number }>;
}

// Assets live beside src/ and dist/, so one relative path works for both.
const PUBLIC_DIR = join(__dirname, '..', 'public');
const page = (name: string): string => readFileSync(join(PUBLIC_DIR, name), 'utf8');

function chartJsPath(): string {
  // chart.js only exports its CJS/ESM entry points; the UMD bundle sits beside them.
  return join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
}

/** The fleet server's composition root: wires store, queue, metrics, auth and routes. */
export function createFleetServer(options: FleetServerOptions): FleetServer {
  const now = options.now ?? Date.now;
  const onError = options.onError ?? (() => undefined);
  const bucketMs = options.bucketSeconds * 1000;
  const silentAfterMs = 2 * options.reportIntervalSeconds * 1000;
  const store = options.store;
  const queue = new WriteQueue(store, {
    ...options.batch,
    now,
    bucketOf: (t) => bucketStart(t, bucketMs),
  });
  const metrics = createFleetMetrics(store, () => now() - silentAfterMs);
  const auth = new AdminAuth(options.adminToken, now);
  const loginHtml = page('login.html');
  const dashboardHtml = page('dashboard.html');
  const policy = {
    maxAgeMs: options.maxReportAgeSeconds * 1000,
    maxSkewMs: options.maxClockSkewSeconds * 1000,
    ...(options.allowedKeys ? { allowedKeys: new Set(options.allowedKeys) } : {}),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((_req, res, next) => {
    res.set({
      'content-security-policy':
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    next();
  });

  const requireAdmin = (req: Request, res: Response, next: NextFunction): void => {
    if (auth.isAuthorized(req)) next();
    else res.status(401).json({ error: { code: 'E_AUTH', message: 'admin token required' } });
  };

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/login', (_req, res) => {
    res.type('html').send(loginHtml);
  });
  app.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    if (!auth.checkToken(token)) {
      res
        .status(401)
        .type('html')
        .send(loginHtml.replace('<!--error-->', '<p class="error">Wrong token.</p>'));
      return;
    }
    res.cookie(SESSION_COOKIE, auth.newSession(), { httpOnly: true, sameSite: 'strict', path: '/' });
    res.redirect(303, '/');
  });
  app.post('/logout', (req, res) => {
    const sid = sessionFromCookie(req.headers.cookie);
    if (sid !== undefined) auth.endSession(sid);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/login');
  });
  app.get('/', (req, res) => {
    if (!auth.isAuthorized(req)) {
      res.status(401).type('html').send(loginHtml);
      return;
    }
    res.type('html').send(dashboardHtml);
  });
  app.get('/assets/chart.umd.min.js', (_req, res) => {
    res.sendFile(chartJsPath());
  });
  app.get('/assets/:name', (req, res) => {
    const name = req.params.name;
    if (name !== 'dashboard.js' && name !== 'dashboard.css') {
      res.status(404).end();
      return;
    }
    res.sendFile(join(PUBLIC_DIR, name));
  });
  app.get('/v1/adoption', requireAdmin, async (_req, res, next) => {
    try {
      const t = now();
      const w = { now: t, bucketMs, points: options.seriesPoints, silentAfterMs };
      const data = await store.adoption({
        silentBefore: t - silentAfterMs,
        since: windowStart(w),
        listLimit: options.listLimit,
      });
      res.json(buildAdoptionReport(data, w));
    } catch (err) {
      next(err);
    }
  });
  // A re-keyed device is refused (key-changed) until an admin forgets its old binding.
  app.delete('/v1/devices/:id', requireAdmin, async (req, res, next) => {
    try {
      const id = String(req.params.id);
      if (await store.deleteDevice(id)) res.status(204).end();
      else res.status(404).json({ error: { code: 'E_NOT_FOUND', message: `no device ${id}` } });
    } catch (err) {
      next(err);
    }
  });
  app.get('/metrics', requireAdmin, async (_req, res, next) => {
    try {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'E_NOT_FOUND', message: 'no such route' } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // body-parser's own refusals (413, 400) are the client's fault: pass them on, log nothing.
    const status = (err as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: { code: 'E_CONFIG', message: 'the request body was refused' } });
      return;
    }
    onError(err);
    const code = err instanceof MinerhaulError ? err.code : 'E_INTERNAL';
    res.status(500).json({ error: { code, message: 'the request failed on the server' } });
  });

  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/reports') {
      void handleReport(req, res, {
        queue,
        metrics,
        policy,
        maxBytes: options.maxReportBytes,
        now,
        onError,
      });
      return;
    }
    app(req, res);
  });
  server.keepAliveTimeout = 65_000;
  // Bounded slow clients: a report is a few KB, a whole request gets 30 s, its headers 10 s.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  const prune = (): Promise<{ devices: number; history: number }> =>
    store.prune(now() - options.retentionDays * 86_400_000);
  let retention: NodeJS.Timeout | undefined;

  return {
    server,
    metrics,
    prune,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          retention = setInterval(() => void prune().catch(onError), 3600_000);
          retention.unref();
          void prune().catch(onError);
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      });
    },
    async close() {
      if (retention !== undefined) clearInterval(retention);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await queue.close();
      server.closeAllConnections();
      await closed;
      await store.close();
    },
  };
}
