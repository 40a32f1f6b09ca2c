import type { IncomingMessage, ServerResponse } from 'node:http';
import { ReportRefusedError, isMinerhaulError } from './errors';
import type { FleetMetrics } from './fleet-metrics';
import { type IntakePolicy, verifyRawReportAsync } from './report-intake';
import { DEVICE_KEY_HEADER, SIGNATURE_HEADER } from './report-signature';
import type { WriteQueue } from './write-queue';

export interface ReportRouteDeps {
  queue: WriteQueue;
  metrics: FleetMetrics;
  policy: IntakePolicy;
  maxBytes: number;
  now: () => number;
  onError: (err: unknown) => void;
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

function refuse(res: ServerResponse, deps: ReportRouteDeps, err: ReportRefusedError, close = false): void {
  deps.metrics.refused.inc({ reason: err.reason });
  send(
    res,
    err.status,
    {
      error: {
        code: err.code,
        reason: err.reason,
        message: err.message,
        ...(err.details ? { details: err.details } : {}),
      },
    },
    close,
  );
}

/** The client went away mid-body: nobody to answer, nothing to log. */
class ClientGone extends Error {}

/** Reads the body up to `max` bytes; undefined when it is larger (the rest is drained, not kept). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', () => reject(new ClientGone()));
  });
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * POST /v1/reports on the bare node:http request: this is the hot path (thousands per second), so
 * it skips express's middleware stack. Signature and schema are checked before the database sees
 * anything; a refused report changes nothing but the refusal counter.
 */
export async function handleReport(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ReportRouteDeps,
): Promise<void> {
  try {
    const body = await readBody(req, deps.maxBytes);
    if (body === undefined) {
      refuse(
        res,
        deps,
        new ReportRefusedError('too-large', `a report may be at most ${deps.maxBytes} bytes`),
        true,
      );
      return;
    }
    const verified = await verifyRawReportAsync(
      {
        body,
        contentType: header(req, 'content-type'),
        deviceKey: header(req, DEVICE_KEY_HEADER),
        signature: header(req, SIGNATURE_HEADER),
        receivedAt: deps.now(),
      },
      deps.policy,
    );
    const outcome = await deps.queue.submit(verified);
    if (!outcome.accepted) {
      const message =
        outcome.reason === 'replayed'
          ? 'the report sequence number is not higher than the last accepted one'
          : 'this device id is registered with another key';
      refuse(res, deps, new ReportRefusedError(outcome.reason, message, { deviceId: verified.deviceId }));
      return;
    }
    deps.metrics.accepted.inc();
    send(res, 202, { accepted: true, deviceId: verified.deviceId, seq: verified.report.seq });
  } catch (err) {
    if (err instanceof ReportRefusedError) {
      refuse(res, deps, err);
      return;
    }
    if (err instanceof ClientGone) {
      res.destroy();
      return;
    }
    deps.onError(err);
    if (!res.headersSent) {
      send(res, 503, {
        error: {
          code: isMinerhaulError(err) ? err.code : 'E_INTERNAL',
          message: 'the report could not be stored',
        },
      });
    }
  }
}
