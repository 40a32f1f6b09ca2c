import type { ErrorCode } from '@minerhaul/signing';

/** A release the engine has verified: what its signed statement said, plus this platform's manifest. */
export interface ReleaseRecord {
  /** The digest the statement signs: the index digest (multi-arch) or the manifest digest. */
  digest: string;
  /** This platform's manifest digest (equal to `digest` for a single-platform image). */
  manifestDigest: string;
  version: string;
  sequence: number;
  repository: string;
  channel: string;
}

/**
 * A verified release made ready for a runtime, kept in the journal so recovery can run it again
 * after a crash. Plain JSON only; never credentials (the journal is a file on disk).
 */
export interface StagedRelease extends ReleaseRecord {
  bubblewrap?: { releaseDir: string; mode: 'slim' | 'full' };
  /** `layerBytes`: the image's compressed layer sizes, summed, for the free-space check before a pull. */
  docker?: { imageRef: string; layerBytes?: number };
  /** From the image config (image-spec config.md `config`). */
  config: {
    entrypoint: string[];
    cmd: string[];
    env: string[];
    workingDir?: string;
    user?: string;
  };
  /** Every blob digest (config and layers) the release is built from; GC keeps these. */
  blobs: string[];
}

/** Where the engine is in the lifecycle of DESIGN.md "Update lifecycle". */
export type EnginePhase =
  'idle' | 'resolve' | 'verify' | 'stage' | 'swap' | 'health' | 'commit' | 'gc' | 'rollback' | 'recover';

export interface ReleaseSummary {
  digest: string;
  manifestDigest: string;
  version: string;
  sequence: number;
}

/** What `agent status` shows. */
export interface EngineStatus {
  phase: EnginePhase;
  current?: ReleaseSummary;
  previous?: ReleaseSummary;
  /** RFC 3339 time of the last completed check (successful or not). */
  lastCheck?: string;
  lastErrorCode?: ErrorCode;
  lastError?: string;
  rollbackCount: number;
  /** A release that failed and was rolled back; not retried while the tag still names it. */
  rejected?: { digest: string; version: string; reason: ErrorCode };
}

export function summarize(release: ReleaseRecord): ReleaseSummary {
  return {
    digest: release.digest,
    manifestDigest: release.manifestDigest,
    version: release.version,
    sequence: release.sequence,
  };
}
