import type { Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { AgentDaemon } from '../daemon/agent-daemon';
import type { AgentLogger } from '../daemon/agent-logger';
import { isMinerhaulError, MinerhaulError, type ErrorCode } from '../errors';
import type { Clock } from '../schedule/clock';
import { agentDir } from '../state/status-store';
import { planConfigPatch, redactConfig } from './config-patch';
import { NonceStore } from './nonce-store';
import { verifyOwnerRequest } from './owner-auth';
import { OWNER_HEADERS } from './owner-request';

/** HTTP status for each expected failure; the body always carries the stable code. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  E_CONFIG: 400,
  E_KEY: 400,
  E_SIGNATURE: 401,
  E_AUTH: 401,
};

export interface LocalApi {
  /** http://HOST:PORT the API listens on. */
  address: string;
  close(): Promise<void>;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/**
 * DNS-rebinding guard: a web page on the hotspot's browser reaches 127.0.0.1 through a name of its own,
 * so only IP literals and `localhost` are accepted as Host.
 */
function refuseForeignHost(req: Request, res: Response, next: NextFunction): void {
  const host = (req.headers.host ?? '')
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (host === 'localhost' || isIP(host) !== 0) {
    next();
    return;
  }
  res.status(403).json({
    error: {
      code: 'E_AUTH',
      message: `Host '${host}' refused: use an IP address or localhost (DNS rebinding guard)`,
    },
  });
}

/**
 * The owner's local API (express, loaded only when api.listen is set). Routes are thin: they call the
 * daemon; one error middleware maps codes to HTTP statuses. Reads are open to local processes;
 * changes to source, TLS, trust and the rest need an owner signature (config-patch.ts).
 */
export function createLocalApiApp(
  daemon: AgentDaemon,
  log: AgentLogger,
  clock: Clock,
): import('express').Express {
  const express = require('express') as typeof import('express');
  const nonces = new NonceStore(join(agentDir(daemon.config.stateDir), 'owner-nonces.json'));
  const app = express();
  app.disable('x-powered-by');
  app.use(refuseForeignHost);
  app.use(express.json({ limit: '64kb', strict: true, type: () => true }));
  const route =
    (handler: Handler) =>
    (req: Request, res: Response, next: NextFunction): void => {
      handler(req, res).catch(next);
    };

  app.get(
    '/v1/status',
    route(async (_req, res) => {
      res.json(daemon.snapshot());
    }),
  );
  app.get(
    '/v1/history',
    route(async (_req, res) => {
      res.json({ history: await daemon.history() });
    }),
  );
  app.post(
    '/v1/check',
    route(async (req, res) => {
      if (req.query.wait === '0') {
        void daemon.requestCheck().catch(() => undefined);
        res.status(202).json({ started: true });
        return;
      }
      res.json(await daemon.requestCheck());
    }),
  );
  app.get(
    '/v1/config',
    route(async (_req, res) => {
      res.json(redactConfig(daemon.config));
    }),
  );
  app.put(
    '/v1/config',
    route(async (req, res) => {
      const body: unknown = req.body;
      const plan = planConfigPatch(daemon.rawConfig, body);
      // A request that carries a signature is always checked, even when it changes nothing: a
      // replayed or forged signed request is refused, never silently accepted as a no-op.
      const signed = req.get(OWNER_HEADERS.signature) !== undefined;
      if (plan.needsOwnerSignature || signed) {
        await verifyOwnerRequest(
          { method: req.method, path: req.path, body, header: (name) => req.get(name) },
          daemon.ownerKeys,
          nonces,
          Math.floor(clock.now() / 1000),
        );
      }
      if (plan.changed.length > 0) await daemon.applyConfig(plan.next);
      log.info({ changed: plan.changed, signed }, 'config changed through the API');
      res.json({ changed: plan.changed, config: redactConfig(daemon.config) });
    }),
  );
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'E_NOT_FOUND', message: 'no such endpoint' } });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const body = errorBody(err);
    if (body.status >= 500) log.error({ err: (err as Error).message }, 'local API request failed');
    res.status(body.status).json({ error: body.error });
  });
  return app;
}

function errorBody(err: unknown): { status: number; error: Record<string, unknown> } {
  if (isMinerhaulError(err)) {
    const status = (err.details?.httpStatus as number | undefined) ?? STATUS_BY_CODE[err.code] ?? 500;
    const errors = err.details?.errors;
    return { status, error: { code: err.code, message: err.message, ...(errors ? { errors } : {}) } };
  }
  // express.json's own errors: malformed JSON (400) or an oversized body (413).
  const httpError = err as { status?: number; type?: string; message?: string };
  if (typeof httpError.status === 'number' && httpError.status >= 400 && httpError.status < 500) {
    return {
      status: httpError.status,
      error: {
        code: 'E_CONFIG',
        message: `bad request: ${httpError.type ?? httpError.message ?? 'invalid body'}`,
      },
    };
  }
  return { status: 500, error: { code: 'E_INTERNAL', message: 'internal error (see the agent log)' } };
}

/** The API's host when `api.listen` names only a port: loopback, as the owner guide asks. */
export const DEFAULT_API_HOST = '127.0.0.1';

/** `api.listen` as host and port: HOST:PORT, [IPv6]:PORT, or PORT / :PORT on DEFAULT_API_HOST. */
export function parseListenAddress(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, Math.max(colon, 0)).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? DEFAULT_API_HOST : host, port: Number(listen.slice(colon + 1)) };
}

/** Starts the API on `listen` (see parseListenAddress; port 0 picks a free one). */
export async function startLocalApi(
  daemon: AgentDaemon,
  listen: string,
  log: AgentLogger,
  clock: Clock,
): Promise<LocalApi> {
  const { host, port } = parseListenAddress(listen);
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    log.warn({ listen }, 'local API listens beyond loopback: reads are unauthenticated');
  }
  const app = createLocalApiApp(daemon, log, clock);
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) =>
      err
        ? reject(new MinerhaulError('E_CONFIG', `/api/listen: ${err.message}`, { cause: err }))
        : resolve(s),
    );
    s.once('error', (err) =>
      reject(new MinerhaulError('E_CONFIG', `/api/listen: ${err.message}`, { cause: err })),
    );
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    address: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
