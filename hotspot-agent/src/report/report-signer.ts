import { sign } from 'node:crypto';
import type { DeviceIdentity } from '../identity/device-identity';
import { REPORT_HEADERS } from './device-report';

/** A report ready to send: the exact bytes and the headers that sign them. */
export interface SignedReport {
  body: string;
  headers: Record<string, string>;
}

/** Ed25519 over the exact body bytes (no canonicalisation needed: the bytes sent are the bytes signed). */
export function signReportBody(identity: DeviceIdentity, body: string): SignedReport {
  const signature = sign(null, Buffer.from(body, 'utf8'), identity.privateKey);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      [REPORT_HEADERS.deviceKey]: identity.publicKeyRaw.toString('base64'),
      [REPORT_HEADERS.signature]: signature.toString('base64'),
    },
  };
}
