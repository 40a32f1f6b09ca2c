import { Readable } from 'node:stream';
import { MinerhaulError } from '@minerhaul/signing';
import type { Descriptor, ImageStore } from '../image-store';
import { parseManifest } from '../manifest';
import { ensureReferrerListed } from './referrers-fallback';
import {
  ANNOTATION_CHANNEL,
  ANNOTATION_KEY_NUMBER,
  ANNOTATION_SEQUENCE,
  MAX_STATEMENT_BYTES,
  RELEASE_ARTIFACT_TYPE,
  SIGNATURE_MEDIA_TYPE,
  STATEMENT_MEDIA_TYPE,
  type StatementArtifactInput,
  buildStatementArtifact,
} from './statement-artifact';

/** One signature over one statement, as found beside an image. */
export interface FetchedReleaseStatement {
  /** The artifact manifest holding them. */
  artifact: Descriptor;
  /** The statement bytes exactly as signed (verify before parsing). */
  statement: Buffer;
  /** The signify .sig file text. */
  signature: string;
  /** Unverified hints from the artifact's annotations (channel, sequence, key number). */
  annotations: Record<string, string>;
}

/**
 * Stores a signed statement beside `subject`: blobs, then the artifact manifest by digest, then the
 * referrers fallback tag when the store does not list it by itself. Returns the artifact descriptor.
 */
export async function storeReleaseStatement(
  store: ImageStore,
  input: StatementArtifactInput,
  signal?: AbortSignal,
): Promise<Descriptor> {
  const artifact = buildStatementArtifact(input);
  for (const b of artifact.blobs) {
    await store.putBlob(b.descriptor, () => Readable.from([b.bytes]), signal ? { signal } : {});
  }
  await store.putManifest(artifact.manifest, artifact.descriptor.mediaType, undefined, signal);
  await ensureReferrerListed(store, input.subject.digest, artifact.descriptor, signal);
  return artifact.descriptor;
}

/**
 * At most this many referrer manifests are read per image: anyone with push access can add referrers,
 * and a hotspot must not be made to fetch without bound. Far above what k-of-n co-signing needs.
 */
export const MAX_RELEASE_ARTIFACTS = 64;

/**
 * Every release statement artifact whose subject is `digest` (referrers API or fallback tag), the first
 * MAX_RELEASE_ARTIFACTS of them.
 * Artifacts of other types or shapes are skipped (anyone with push access can add referrers; the
 * signature threshold decides what counts). Store failures (E_DIGEST, E_AUTH, ...) propagate.
 */
export async function fetchReleaseStatements(
  store: ImageStore,
  digest: string,
  signal?: AbortSignal,
): Promise<FetchedReleaseStatement[]> {
  const referrers = await store.listReferrers(digest, RELEASE_ARTIFACT_TYPE, signal);
  const seen = new Set<string>();
  const out: FetchedReleaseStatement[] = [];
  for (const ref of referrers) {
    // Filter client-side too: a registry may ignore the artifactType filter (no OCI-Filters-Applied).
    if (ref.artifactType !== undefined && ref.artifactType !== RELEASE_ARTIFACT_TYPE) continue;
    if (seen.has(ref.digest)) continue;
    if (seen.size >= MAX_RELEASE_ARTIFACTS) break;
    seen.add(ref.digest);
    const fetched = await fetchOne(store, digest, ref, signal);
    if (fetched !== undefined) out.push(fetched);
  }
  return out;
}

async function fetchOne(
  store: ImageStore,
  subjectDigest: string,
  ref: Descriptor,
  signal?: AbortSignal,
): Promise<FetchedReleaseStatement | undefined> {
  const got = await store.getManifest(ref.digest, signal);
  if (got === undefined) return undefined; // listed but deleted since: nothing to verify
  let parsed;
  try {
    parsed = parseManifest(got.bytes, got.descriptor.mediaType);
  } catch {
    return undefined;
  }
  if (parsed.kind !== 'manifest') return undefined;
  const m = parsed.manifest;
  if (m.artifactType !== RELEASE_ARTIFACT_TYPE || m.subject?.digest !== subjectDigest) return undefined;
  const [statementLayer, signatureLayer] = m.layers;
  if (
    m.layers.length !== 2 ||
    statementLayer?.mediaType !== STATEMENT_MEDIA_TYPE ||
    signatureLayer?.mediaType !== SIGNATURE_MEDIA_TYPE ||
    statementLayer.size > MAX_STATEMENT_BYTES ||
    signatureLayer.size > MAX_STATEMENT_BYTES
  ) {
    return undefined;
  }
  const statement = await readSmallBlob(store, statementLayer, signal);
  const signature = (await readSmallBlob(store, signatureLayer, signal)).toString('utf8');
  const annotations = pickAnnotations(m.annotations ?? {});
  return {
    artifact: { ...ref, digest: got.descriptor.digest, size: got.bytes.length },
    statement,
    signature,
    annotations,
  };
}

function pickAnnotations(all: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [ANNOTATION_CHANNEL, ANNOTATION_SEQUENCE, ANNOTATION_KEY_NUMBER]) {
    const v = all[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Reads a blob the store verifies while streaming; the size was checked against the cap before. */
export async function readSmallBlob(store: ImageStore, d: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  const stream = await store.openBlob(d, signal ? { signal } : {});
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > MAX_STATEMENT_BYTES) {
      stream.destroy();
      throw new MinerhaulError('E_DIGEST', `blob ${d.digest} is larger than its descriptor says`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
