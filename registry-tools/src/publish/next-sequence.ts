import { parseStatement } from '@minerhaul/signing';
import type { ImageStore } from '../image-store';
import { type FetchedReleaseStatement, fetchReleaseStatements } from '../statements';

/** Tags that are not releases: referrers fallback indexes and cosign's signature tags. */
const NON_RELEASE_TAG = /^sha(256|512)-[a-f0-9]+(\.(sig|att|sbom))?$/;

/** Bound on tags scanned: a release repository has far fewer; beyond it numbering needs --sequence. */
const MAX_TAGS = 1000;

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
  const tags = (await store.listTags(signal)).filter((t) => !NON_RELEASE_TAG.test(t)).slice(0, MAX_TAGS);
  const digests = new Set<string>();
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
