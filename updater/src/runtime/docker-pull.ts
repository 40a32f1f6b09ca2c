import type Docker from 'dockerode';
import { type ErrorCode, MinerhaulError } from '@minerhaul/signing';
import type { DockerCredentials } from './miner-runtime';

/** One JSON object of the Engine's pull progress stream (POST /images/create). */
export interface PullProgressEvent {
  status?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

/**
 * The Engine answers a failing pull with HTTP 200 and reports the failure inside the progress stream;
 * docker-modem's followProgress does not turn that into an error (protocol-reference §7.1). Every object
 * is checked here.
 */
export function pullEventError(event: PullProgressEvent): string | undefined {
  if (typeof event.error === 'string' && event.error !== '') return event.error;
  if (event.errorDetail?.message) return event.errorDetail.message;
  return undefined;
}

/** Reads a pull or load progress stream to its end; resolves with its first in-band error, if any. */
export function readProgressStream(
  docker: Docker,
  stream: NodeJS.ReadableStream,
): Promise<string | undefined> {
  let inBand: string | undefined;
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve(inBand)),
      (event: PullProgressEvent) => {
        inBand ??= pullEventError(event);
      },
    );
  });
}

/** Maps a pull failure's text to the closest stable code. */
export function pullErrorCode(message: string): ErrorCode {
  if (/unauthori[sz]ed|authentication required|no basic auth credentials|denied|forbidden/i.test(message))
    return 'E_AUTH';
  if (/manifest unknown|not found|does not exist|no such/i.test(message)) return 'E_NOT_FOUND';
  if (/x509|certificate/i.test(message)) return 'E_TLS';
  if (/verification failed|digest mismatch|unexpected digest|invalid diffid/i.test(message))
    return 'E_DIGEST';
  return 'E_RUNTIME';
}

/** `registry/repo@sha256:…` only: a release is always pulled by the digest that was verified. */
export function requireDigestReference(ref: string): void {
  if (!/^[^@\s]+@sha256:[0-9a-f]{64}$/.test(ref)) {
    throw new MinerhaulError('E_CONFIG', `image reference '${ref}' must be pinned by digest (name@sha256:…)`);
  }
}

/** Pulls `ref` by digest with credentials in X-Registry-Auth; rejects on any in-band error object. */
export async function pullByDigest(
  docker: Docker,
  ref: string,
  credentials: DockerCredentials | undefined,
  signal?: AbortSignal,
): Promise<void> {
  requireDigestReference(ref);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(ref, {
      ...(credentials ? { authconfig: credentials } : {}),
      ...(signal ? { abortSignal: signal } : {}),
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new MinerhaulError(pullErrorCode(message), `docker pull ${ref} failed: ${message}`, { cause: err });
  }
  const inBand = await readProgressStream(docker, stream).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    throw new MinerhaulError(pullErrorCode(message), `docker pull ${ref} failed: ${message}`, { cause: err });
  });
  if (inBand !== undefined) {
    throw new MinerhaulError(pullErrorCode(inBand), `docker pull ${ref} failed: ${inBand}`, {
      details: { reference: ref, inBand: true },
    });
  }
}
