import { MinerhaulError, parseStatement } from '@minerhaul/signing';
import type { ImageStore } from '../image-store';
import { type FetchedReleaseStatement, fetchReleaseStatements } from '../statements';

/** Tags that are not releases: referrers fallback indexes and cosign's signature tags. */
const NON_RELEASE_TAG = /^sha(256|512)-[a-f0-9]+(\.(sig|att|sbom))?$/;
/** A referrers fallback tag names the digest whose statements it lists (distribution-spec). */
const FALLBACK_TAG = /^(sha256|sha512)-([a-f0-9]+)$/;

/** Bound on images scanned: a release repository has far fewer; beyond it numbering needs --sequence. */
const MAX_IMAGES = 1000;

/**
 * The highest sequence already signed for (repository, channel) among the statements beside every
 * tagged image, or -1 when there is none. Statements are parsed, not verified: this only numbers the
 * next release; the agent's verification is what enforces monotonicity.
 */
export async function highestSequence(
  store: ImageStore,
  repository: string,
  channel: string,
  signal?: AbortSignal,
): Promise<number> {
  const allTags = await store.listTags(signal);
  const tags = allTags.filter((t) => !NON_RELEASE_TAG.test(t));
  const fallbackTags = allTags.filter((t) => FALLBACK_TAG.test(t));
  // Guessing low would make every device refuse the release (E_ROLLBACK): refuse to guess instead.
  if (tags.length + fallbackTags.length > MAX_IMAGES) {
    throw new MinerhaulError(
      'E_CONFIG',
      `${store.location} has more than ${MAX_IMAGES} tagged images and statements: pass --sequence explicitly`,
    );
  }
  const digests = new Set<string>();
  // Images whose tag has moved on (v1 once on `stable`) still carry their statements: their fallback
  // tags lead to them, so a release pushed onto a moving tag still gets a higher sequence.
  for (const tag of fallbackTags) {
    const m = FALLBACK_TAG.exec(tag);
    if (m) digests.add(`${m[1]}:${m[2]}`);
  }
  for (const tag of tags) {
    const d = await store.resolve(tag, signal);
    if (d !== undefined) digests.add(d.digest);
  }
  let highest = -1;
  for (const digest of digests) {
    for (const s of await fetchReleaseStatements(store, digest, signal)) {
      const seq = statementSequence(s, repository, channel);
      if (seq !== undefined && seq > highest) highest = seq;
    }
  }
  return highest;
}

function statementSequence(
  s: FetchedReleaseStatement,
  repository: string,
  channel: string,
): number | undefined {
  try {
    const parsed = parseStatement(s.statement);
    return parsed.repository === repository && parsed.channel === channel ? parsed.sequence : undefined;
  } catch {
    return undefined; // not a statement we can read: it cannot have numbered anything
  }
}
