import { type PublicKey, isMinerhaulError, parseSignature, verifyMessage } from '@minerhaul/signing';
import { MinerhaulError } from '../errors';
import type { NonceStore } from './nonce-store';
import { OWNER_HEADERS, ownerRequestMessage } from './owner-request';

/** How far a request's timestamp may be from the agent's clock, either way. */
export const OWNER_REQUEST_WINDOW_SECONDS = 300;

export interface OwnerRequest {
  method: string;
  path: string;
  body: unknown;
  header(name: string): string | undefined;
}

const unauthorized = (message: string): MinerhaulError =>
  new MinerhaulError('E_SIGNATURE', message, { details: { httpStatus: 401 } });

/**
 * Checks that a request was signed by one of the owner keys, recently, and only once. Throws
 * E_SIGNATURE (mapped to 401) otherwise. The nonce is recorded only after the signature verified,
 * so unsigned junk cannot fill the store.
 */
export async function verifyOwnerRequest(
  request: OwnerRequest,
  ownerKeys: readonly PublicKey[],
  nonces: NonceStore,
  nowSeconds: number,
): Promise<PublicKey> {
  const signatureLine = request.header(OWNER_HEADERS.signature);
  const timestampText = request.header(OWNER_HEADERS.timestamp);
  const nonce = request.header(OWNER_HEADERS.nonce);
  if (signatureLine === undefined || timestampText === undefined || nonce === undefined) {
    throw unauthorized(
      `this change must be signed by an owner key (${OWNER_HEADERS.signature}, ${OWNER_HEADERS.timestamp}, ${OWNER_HEADERS.nonce})`,
    );
  }
  if (ownerKeys.length === 0)
    throw unauthorized('no owner keys are configured (api.ownerKeys): change refused');
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(nonce))
    throw unauthorized('nonce must be 16-128 characters [A-Za-z0-9_-]');
  if (!/^\d{1,12}$/.test(timestampText)) throw unauthorized('timestamp must be unix seconds');
  const timestamp = Number(timestampText);
  if (Math.abs(nowSeconds - timestamp) > OWNER_REQUEST_WINDOW_SECONDS) {
    throw unauthorized(`timestamp is more than ${OWNER_REQUEST_WINDOW_SECONDS}s away from the device clock`);
  }
  const signatureText = `untrusted comment: owner request\n${signatureLine.trim()}\n`;
  let keyNumberHex: string;
  try {
    keyNumberHex = parseSignature(signatureText).keyNumberHex;
  } catch (err) {
    throw unauthorized(`garbled signature: ${(err as Error).message}`);
  }
  const key = ownerKeys.find((k) => k.keyNumberHex === keyNumberHex);
  if (key === undefined) throw unauthorized(`signature by key ${keyNumberHex}, which is not an owner key`);
  const message = ownerRequestMessage({
    method: request.method,
    path: request.path,
    body: request.body,
    timestamp,
    nonce,
  });
  try {
    verifyMessage(key, message, signatureText);
  } catch (err) {
    if (isMinerhaulError(err)) throw unauthorized(`signature does not verify: ${err.message}`);
    throw err;
  }
  if (nonces.has(nonce, nowSeconds)) throw unauthorized('replayed request (nonce already used)');
  if (!(await nonces.remember(nonce, timestamp + OWNER_REQUEST_WINDOW_SECONDS, nowSeconds))) {
    throw unauthorized('too many signed requests in the time window; retry later');
  }
  return key;
}
