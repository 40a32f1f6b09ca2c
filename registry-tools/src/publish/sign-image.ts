import {
  MinerhaulError,
  type ReleaseStatement,
  type SecretKey,
  createStatement,
  encodeStatement,
  parseStatement,
  signMessage,
} from '@minerhaul/signing';
import type { Descriptor, ImageStore } from '../image-store';
import {
  ANNOTATION_KEY_NUMBER,
  type FetchedReleaseStatement,
  fetchReleaseStatements,
  storeReleaseStatement,
} from '../statements';
import { highestSequence } from './next-sequence';
import { imageVersion } from './image-annotations';

export interface SignImageOptions {
  /** Tag or digest in the store. */
  reference: string;
  secretKey: SecretKey;
  /** Default: the tag of `reference`. */
  channel?: string;
  /** Default: one more than the highest signed for the repository and channel (at least 1). */
  sequence?: number;
  expires?: Date | string;
  rollout?: number;
  minAgentVersion?: string;
  /** The repository the statement names; default the store's own. */
  repository?: string;
  now?: Date;
  signal?: AbortSignal;
}

export interface SignImageResult {
  subject: Descriptor;
  statement: ReleaseStatement;
  statementBytes: Buffer;
  artifact: Descriptor;
  /** An existing statement was signed (co-signing) instead of a new one written. */
  cosigned: boolean;
  /** This key had already signed it: nothing was written. */
  alreadySigned: boolean;
}

/**
 * `minerhaul sign`: signs what `reference` resolves to and stores the statement beside it.
 * When a statement for the same repository, digest and channel already exists and no field was
 * asked to differ, its exact bytes are co-signed, so k maintainers' signatures meet a threshold of k
 * (docs/decisions/0253).
 */
export async function signImage(store: ImageStore, options: SignImageOptions): Promise<SignImageResult> {
  const subject = await store.resolve(options.reference, options.signal);
  if (subject === undefined) {
    throw new MinerhaulError('E_NOT_FOUND', `${options.reference} not found in ${store.location}`);
  }
  const channel = options.channel ?? tagOf(options.reference);
  const repository = options.repository ?? store.repository;
  const existing = await fetchReleaseStatements(store, subject.digest, options.signal);
  const match = pickCosignable(existing, { repository, digest: subject.digest, channel }, options);

  let statementBytes: Buffer;
  let statement: ReleaseStatement;
  if (match !== undefined) {
    ({ statement, bytes: statementBytes } = match);
    const mine = existing.find(
      (e) =>
        e.statement.equals(statementBytes) &&
        e.annotations[ANNOTATION_KEY_NUMBER] === options.secretKey.keyNumberHex,
    );
    if (mine !== undefined) {
      return {
        subject,
        statement,
        statementBytes,
        artifact: mine.artifact,
        cosigned: true,
        alreadySigned: true,
      };
    }
  } else {
    const version = await imageVersion(store, subject, options.signal);
    const sequence =
      options.sequence ??
      Math.max(1, (await highestSequence(store, repository, channel, options.signal)) + 1);
    statement = createStatement(
      {
        repository,
        digest: subject.digest,
        version,
        channel,
        sequence,
        ...(options.expires !== undefined ? { expires: options.expires } : {}),
        ...(options.rollout !== undefined ? { rollout: options.rollout } : {}),
        ...(options.minAgentVersion !== undefined ? { minAgentVersion: options.minAgentVersion } : {}),
      },
      options.now ?? new Date(),
    );
    statementBytes = encodeStatement(statement);
  }

  const signature = signMessage(
    options.secretKey,
    statementBytes,
    `minerhaul release ${statement.version} channel ${statement.channel} sequence ${statement.sequence}`,
  );
  const artifact = await storeReleaseStatement(
    store,
    {
      subject,
      statement: statementBytes,
      signature,
      channel: statement.channel,
      sequence: statement.sequence,
      keyNumber: options.secretKey.keyNumberHex,
      created: statement.created,
    },
    options.signal,
  );
  return {
    subject,
    statement,
    statementBytes,
    artifact,
    cosigned: match !== undefined,
    alreadySigned: false,
  };
}

/** The channel defaults to the tag; a digest reference names no channel. */
function tagOf(reference: string): string {
  if (reference.includes(':')) {
    throw new MinerhaulError('E_CONFIG', 'the reference is a digest: give the channel with --channel');
  }
  return reference;
}

/**
 * Two maintainers who both give `--expires 90d` minutes apart mean the same expiry: within a day
 * counts as equal, so the second one co-signs instead of splitting the signatures (decision 0253).
 */
const EXPIRY_TOLERANCE_MS = 24 * 3600 * 1000;

function sameExpiry(existing: string | undefined, requested: Date | string): boolean {
  if (existing === undefined) return false;
  return Math.abs(Date.parse(existing) - new Date(requested).getTime()) <= EXPIRY_TOLERANCE_MS;
}

/**
 * The existing statement to co-sign: same binding, and equal to every field the caller set
 * explicitly. The highest sequence wins when several qualify.
 */
function pickCosignable(
  existing: FetchedReleaseStatement[],
  expect: { repository: string; digest: string; channel: string },
  options: SignImageOptions,
): { statement: ReleaseStatement; bytes: Buffer } | undefined {
  let best: { statement: ReleaseStatement; bytes: Buffer } | undefined;
  for (const e of existing) {
    let s: ReleaseStatement;
    try {
      s = parseStatement(e.statement);
    } catch {
      continue;
    }
    if (s.repository !== expect.repository || s.digest !== expect.digest || s.channel !== expect.channel)
      continue;
    if (options.sequence !== undefined && s.sequence !== options.sequence) continue;
    if (options.rollout !== undefined && s.rollout !== options.rollout) continue;
    if (options.minAgentVersion !== undefined && s.minAgentVersion !== options.minAgentVersion) continue;
    if (options.expires !== undefined && !sameExpiry(s.expires, options.expires)) continue;
    if (best === undefined || s.sequence > best.statement.sequence)
      best = { statement: s, bytes: e.statement };
  }
  return best;
}
