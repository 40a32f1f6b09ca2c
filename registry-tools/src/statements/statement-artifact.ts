import { createHash } from 'node:crypto';
import type { Descriptor } from '../image-store';
import { EMPTY_DESCRIPTOR, MEDIA_TYPE_OCI_MANIFEST } from '../manifest';

/** The statement artifact format shared with the update engine (decision 0200; details in docs/decisions/0252). */
export const RELEASE_ARTIFACT_TYPE = 'application/vnd.minerhaul.release.v1+json';
export const STATEMENT_MEDIA_TYPE = 'application/vnd.minerhaul.statement.v1+json';
export const SIGNATURE_MEDIA_TYPE = 'application/vnd.minerhaul.signify.sig.v1';

export const ANNOTATION_CHANNEL = 'dev.minerhaul.channel';
export const ANNOTATION_SEQUENCE = 'dev.minerhaul.sequence';
export const ANNOTATION_KEY_NUMBER = 'dev.minerhaul.key-number';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';

/** Statements and signify files are tiny; anything larger is not ours and is never read whole. */
export const MAX_STATEMENT_BYTES = 64 * 1024;

export interface StatementArtifactInput {
  /** The signed index or manifest. */
  subject: Descriptor;
  /** canonicalJson(statement) exactly as signed. */
  statement: Buffer;
  /** The signify .sig file text. */
  signature: string;
  channel: string;
  sequence: number;
  keyNumber: string;
  created: string;
}

export interface StatementArtifact {
  manifest: Buffer;
  descriptor: Descriptor;
  /** Blobs the manifest references, with their bytes: the empty config, statement, signature. */
  blobs: { descriptor: Descriptor; bytes: Buffer }[];
}

/** Builds one statement artifact: one signature per artifact, co-signers sign the same statement bytes. */
export function buildStatementArtifact(input: StatementArtifactInput): StatementArtifact {
  const statement = blob(STATEMENT_MEDIA_TYPE, input.statement);
  const signature = blob(SIGNATURE_MEDIA_TYPE, Buffer.from(input.signature, 'utf8'));
  const empty = { descriptor: EMPTY_DESCRIPTOR, bytes: Buffer.from('{}') };
  const annotations = artifactAnnotations(input);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      artifactType: RELEASE_ARTIFACT_TYPE,
      config: EMPTY_DESCRIPTOR,
      layers: [statement.descriptor, signature.descriptor],
      subject: { mediaType: input.subject.mediaType, digest: input.subject.digest, size: input.subject.size },
      annotations,
    }),
    'utf8',
  );
  return {
    manifest,
    descriptor: {
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      artifactType: RELEASE_ARTIFACT_TYPE,
      digest: sha256(manifest),
      size: manifest.length,
      annotations,
    },
    blobs: [empty, statement, signature],
  };
}

function artifactAnnotations(input: StatementArtifactInput): Record<string, string> {
  return {
    [ANNOTATION_CHANNEL]: input.channel,
    [ANNOTATION_KEY_NUMBER]: input.keyNumber,
    [ANNOTATION_SEQUENCE]: String(input.sequence),
    [ANNOTATION_CREATED]: input.created,
  };
}

function blob(mediaType: string, bytes: Buffer): { descriptor: Descriptor; bytes: Buffer } {
  return { descriptor: { mediaType, digest: sha256(bytes), size: bytes.length }, bytes };
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
