import { ERROR_CODES, type ErrorCode, MinerhaulError } from '@minerhaul/signing';
import type { UnpackLayerOptions, UnpackLayerResult } from './unpack-layer';

/** What the unpack worker needs to apply one layer: the options, less the signal and the callbacks. */
export type LayerJob = Omit<UnpackLayerOptions, 'signal' | 'onWritten'> & {
  /** Whether written-byte counts are reported (the caller has an onWritten guard). */
  reportWritten: boolean;
};

/** Caller → worker. */
export type ToWorker =
  /** `ring` carries the compressed bytes (chunk-ring.ts), the same buffer for every layer. */
  | { type: 'start'; job: LayerJob; ring: SharedArrayBuffer }
  /** A region of compressed bytes placed in the ring (chunk-ring.ts). */
  | { type: 'chunk'; offset: number; length: number }
  | { type: 'end' }
  /** Stop the layer: the worker settles its writes, then answers `failed`. */
  | { type: 'abort' }
  /** Every written-byte count up to the request `id` was judged acceptable. */
  | { type: 'verdict'; id: number };

/** Worker → caller. */
export type FromWorker =
  /** The decompressor took the oldest `regions` regions: their place in the ring is free. */
  | { type: 'consumed'; regions: number }
  /** File bytes written; with `verdictId` the worker waits for the matching verdict. */
  | { type: 'written'; bytes: number; verdictId?: number }
  | { type: 'done'; result: UnpackLayerResult }
  | { type: 'failed'; error: SerializedError };

/**
 * An error as it crosses the thread boundary: structured clone keeps only name, message and stack,
 * but callers branch on MinerhaulError codes and on errno fields (mapFsError).
 */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  minerhaul: boolean;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  details?: Record<string, unknown>;
  cause?: SerializedError;
}

const MAX_CAUSE_DEPTH = 4;

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), minerhaul: false };
  const e = err as NodeJS.ErrnoException & { details?: Record<string, unknown> };
  const out: SerializedError = { name: e.name, message: e.message, minerhaul: err instanceof MinerhaulError };
  if (e.stack !== undefined) out.stack = e.stack;
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.errno === 'number') out.errno = e.errno;
  if (typeof e.syscall === 'string') out.syscall = e.syscall;
  if (typeof e.path === 'string') out.path = e.path;
  if (e.details !== undefined) out.details = e.details;
  if (e.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

export function deserializeError(s: SerializedError): Error {
  const cause = s.cause === undefined ? undefined : deserializeError(s.cause);
  let err: Error;
  if (s.minerhaul && isErrorCode(s.code)) {
    err = new MinerhaulError(s.code, s.message, { cause, details: s.details });
  } else {
    err = new Error(s.message, cause === undefined ? undefined : { cause });
    err.name = s.name;
    const errno = err as NodeJS.ErrnoException;
    if (s.code !== undefined) errno.code = s.code;
    if (s.errno !== undefined) errno.errno = s.errno;
    if (s.syscall !== undefined) errno.syscall = s.syscall;
    if (s.path !== undefined) errno.path = s.path;
  }
  if (s.stack !== undefined) err.stack = s.stack;
  return err;
}

function isErrorCode(code: string | undefined): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code ?? '');
}
