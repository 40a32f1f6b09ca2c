import { randomBytes } from 'node:crypto';
import { canonicalJson, type SecretKey, signMessage } from '@minerhaul/signing';

/** Headers of an owner-signed request to the local API (docs/decisions/0502-owner-signed-requests.md). */
export const OWNER_HEADERS = {
  signature: 'x-minerhaul-owner-signature',
  timestamp: 'x-minerhaul-owner-timestamp',
  nonce: 'x-minerhaul-owner-nonce',
} as const;

export interface OwnerRequestFields {
  method: string;
  /** The request path without query string, e.g. /v1/config. */
  path: string;
  /** The parsed JSON body (null when there is none). */
  body: unknown;
  /** Unix time in seconds. */
  timestamp: number;
  nonce: string;
}

/**
 * The exact bytes an owner signs: canonical JSON of method, path, body, timestamp and nonce. The body
 * is signed as parsed JSON, so whitespace or key order on the wire does not matter, while any change
 * of value does.
 */
export function ownerRequestMessage(fields: OwnerRequestFields): Buffer {
  return Buffer.from(
    canonicalJson({
      method: fields.method.toUpperCase(),
      path: fields.path,
      body: fields.body ?? null,
      timestamp: fields.timestamp,
      nonce: fields.nonce,
    }),
    'utf8',
  );
}

/**
 * Signs a request for the local API with an owner's signify secret key; returns the headers to send.
 * The signature header carries the base64 line of the signify signature (headers cannot hold its
 * comment line).
 */
export function signOwnerRequest(
  secretKey: SecretKey,
  request: { method: string; path: string; body?: unknown; now?: Date; nonce?: string },
): Record<string, string> {
  const timestamp = Math.floor((request.now ?? new Date()).getTime() / 1000);
  const nonce = request.nonce ?? randomBytes(16).toString('hex');
  const message = ownerRequestMessage({
    method: request.method,
    path: request.path,
    body: request.body ?? null,
    timestamp,
    nonce,
  });
  const signatureLine = signMessage(secretKey, message).split('\n')[1] ?? '';
  return {
    [OWNER_HEADERS.signature]: signatureLine,
    [OWNER_HEADERS.timestamp]: String(timestamp),
    [OWNER_HEADERS.nonce]: nonce,
  };
}
