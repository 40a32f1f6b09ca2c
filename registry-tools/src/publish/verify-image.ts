import { MinerhaulError, type PublicKey, verifyThreshold } from '@minerhaul/signing';
import type { Descriptor, ImageStore } from '../image-store';
import { type VerifiedRelease, fetchReleaseStatements, verifyReleaseStatements } from '../statements';

export interface VerifyImageOptions {
  reference: string;
  trustedKeys: PublicKey[];
  threshold?: number;
  /** Default: the tag of `reference`. */
  channel?: string;
  /** The repository statements must name; default the store's own (trust.identity for mirrors). */
  repository?: string;
  now?: Date;
  signal?: AbortSignal;
}

export interface VerifyImageResult extends VerifiedRelease {
  subject: Descriptor;
  /** Key numbers (hex) of the trusted keys whose signatures are valid. */
  validKeyNumbers: string[];
}

/** `minerhaul verify`: the statement stored beside REF, checked like the agent checks it. */
export async function verifyImage(
  store: ImageStore,
  options: VerifyImageOptions,
): Promise<VerifyImageResult> {
  const subject = await store.resolve(options.reference, options.signal);
  if (subject === undefined) {
    throw new MinerhaulError('E_NOT_FOUND', `${options.reference} not found in ${store.location}`);
  }
  if (options.channel === undefined && options.reference.includes(':')) {
    throw new MinerhaulError('E_CONFIG', 'the reference is a digest: give the channel with --channel');
  }
  const channel = options.channel ?? options.reference;
  const threshold = options.threshold ?? 1;
  const fetched = await fetchReleaseStatements(store, subject.digest, options.signal);
  const verified = verifyReleaseStatements(fetched, {
    trustedKeys: options.trustedKeys,
    threshold,
    expect: { repository: options.repository ?? store.repository, digest: subject.digest, channel },
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  const { validKeyNumbers } = verifyThreshold(
    options.trustedKeys,
    verified.statementBytes,
    verified.artifacts.map((a) => a.signature),
    threshold,
  );
  return { ...verified, subject, validKeyNumbers };
}
