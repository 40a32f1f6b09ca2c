import type { KeyObject } from 'node:crypto';
import { ReportRefusedError } from './errors';
import type { VerifiedReport } from './ingest-plan';
import { publicKeyFromBase64, verifyReportSignature, verifyReportSignatureAsync } from './report-signature';
import { validateReport } from './report-validator';

export interface IntakePolicy {
  /** When set, only these raw base64 public keys may report (instead of trust on first use). */
  allowedKeys?: ReadonlySet<string>;
  /** A report whose sentAt is older than this (ms) is stale. */
  maxAgeMs: number;
  /** ...or further than this in the future (device clock ahead). */
  maxSkewMs: number;
}

export interface RawReport {
  body: Buffer;
  contentType: string | undefined;
  deviceKey: string | undefined;
  signature: string | undefined;
  receivedAt: number;
}

// Verified keys by their header value: parsing a key costs as much as a small signature check,
// and a device sends the same header on every report. Bounded, oldest dropped first.
const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, KeyObject>();

function parseKey(b64: string): KeyObject {
  let key = keyCache.get(b64);
  if (key === undefined) {
    key = publicKeyFromBase64(b64);
    if (keyCache.size >= KEY_CACHE_MAX) {
      const oldest = keyCache.keys().next();
      if (oldest.done !== true) keyCache.delete(oldest.value);
    }
    keyCache.set(b64, key);
  }
  return key;
}

/**
 * Everything that can be checked without the database, cheapest refusal first: media type, key
 * and allow-list, the signature over the exact bytes received, JSON, schema, clock window.
 * The store then checks the key binding and the sequence (replay), see planIngest.
 */
export function verifyRawReport(raw: RawReport, policy: IntakePolicy): VerifiedReport {
  const envelope = checkEnvelope(raw, policy);
  if (!verifyReportSignature(envelope.key, raw.body, envelope.signature)) throw badSignature();
  return checkBody(raw, envelope, policy);
}

/** verifyRawReport with the signature checked on the thread pool (the server's hot path). */
export async function verifyRawReportAsync(raw: RawReport, policy: IntakePolicy): Promise<VerifiedReport> {
  const envelope = checkEnvelope(raw, policy);
  if (!(await verifyReportSignatureAsync(envelope.key, raw.body, envelope.signature))) throw badSignature();
  return checkBody(raw, envelope, policy);
}

function badSignature(): ReportRefusedError {
  return new ReportRefusedError('bad-signature', 'the signature does not match the report and device key');
}

interface Envelope {
  key: KeyObject;
  deviceKey: string;
  signature: string;
}

/** Media type, headers, key and allow-list: the checks before the signature. */
function checkEnvelope(raw: RawReport, policy: IntakePolicy): Envelope {
  const type = (raw.contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ReportRefusedError('unsupported-media-type', 'a report must be sent as application/json');
  }
  if (raw.deviceKey === undefined || raw.signature === undefined) {
    throw new ReportRefusedError(
      'missing-signature',
      'a report must carry the device key and signature headers',
    );
  }
  let key: KeyObject;
  try {
    key = parseKey(raw.deviceKey);
  } catch {
    throw new ReportRefusedError(
      'bad-signature',
      'the device key header is not a base64 raw ed25519 public key',
    );
  }
  if (policy.allowedKeys !== undefined && !policy.allowedKeys.has(raw.deviceKey)) {
    throw new ReportRefusedError('not-allowed', 'this device key is not on the allow-list');
  }
  return { key, deviceKey: raw.deviceKey, signature: raw.signature };
}

/** JSON, schema and clock window: the checks after the signature. */
function checkBody(raw: RawReport, envelope: Envelope, policy: IntakePolicy): VerifiedReport {
  let value: unknown;
  try {
    value = JSON.parse(raw.body.toString('utf8'));
  } catch {
    throw new ReportRefusedError('bad-json', 'the report is not valid JSON');
  }
  const checked = validateReport(value);
  if (!checked.ok) {
    throw new ReportRefusedError('schema', 'the report does not match the report schema', {
      issues: checked.issues,
    });
  }
  const sentAt = Date.parse(checked.report.sentAt);
  if (sentAt < raw.receivedAt - policy.maxAgeMs || sentAt > raw.receivedAt + policy.maxSkewMs) {
    throw new ReportRefusedError('stale', 'the report was sent outside the accepted time window', {
      sentAt: checked.report.sentAt,
      serverTime: new Date(raw.receivedAt).toISOString(),
      maxAgeSeconds: policy.maxAgeMs / 1000,
      maxSkewSeconds: policy.maxSkewMs / 1000,
    });
  }
  return {
    deviceId: checked.report.deviceId,
    publicKey: envelope.deviceKey,
    report: checked.report,
    receivedAt: raw.receivedAt,
  };
}
