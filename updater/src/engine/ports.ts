import type { Descriptor, ImageStore, Platform, ProgressEvent } from '@minerhaul/registry-tools';
import type { ReleaseRecord, StagedRelease } from './release-record';

/**
 * What the engine needs from the other parts, as small interfaces it owns (no dockerode or tar types
 * leak in): the composition root (engine-factory.ts, or a test) passes the real implementations.
 */

/** The fields of a verified release statement the engine uses (signing's ReleaseStatement has them). */
export interface VerifiedStatement {
  repository: string;
  digest: string;
  version: string;
  channel: string;
  sequence: number;
  rollout?: number;
  minAgentVersion?: string;
}

export interface VerifyRequest {
  store: ImageStore;
  /** The digest the HEAD returned; the statement must sign exactly this. */
  digest: string;
  /** Anti-rollback: the sequence of the installed release, if any. */
  installedSequence?: number;
  /** The installed release's digest: the same sequence must not name another digest. */
  installedDigest?: string;
  now: Date;
  signal?: AbortSignal;
}

/** Lifecycle step 2: fetch the statements stored beside `digest` and check them; throws a coded error. */
export interface ReleaseVerifier {
  verify(request: VerifyRequest): Promise<VerifiedStatement>;
}

/** This platform's image manifest, selected from an index when the digest names one. */
export interface PlatformManifest {
  manifestDigest: string;
  config: Descriptor;
  layers: Descriptor[];
  /**
   * Set when the digest named a single manifest (no index to select from): the image config's
   * os/architecture must then match it (protocol-reference §1.11 step 6), else E_PLATFORM.
   */
  expectPlatform?: Platform;
}

export interface ManifestSelector {
  select(store: ImageStore, digest: string, signal?: AbortSignal): Promise<PlatformManifest>;
}

export interface StageRequest {
  store: ImageStore;
  target: ReleaseRecord;
  manifest: PlatformManifest;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

/** Lifecycle steps 3-4: blobs into the store (missing ones only) and a release ready to run. */
export interface ReleaseStager {
  /** False when the runtime fetches by itself (docker pull by digest): nothing goes to the blob store. */
  readonly usesBlobStore: boolean;
  /** Which of these blob digests the store holds already. */
  held(digests: readonly string[]): Promise<Set<string>>;
  stage(request: StageRequest): Promise<StagedRelease>;
  /** Removes a staged release that will never run. Idempotent. */
  discard(manifestDigest: string): Promise<void>;
  /** Removes every release and blob not referenced by `keep`. Idempotent. */
  gc(keep: readonly StagedRelease[]): Promise<void>;
}

/** The subset of the runtimes' MinerRuntime the engine drives; every call must be idempotent. */
export interface EngineRuntime {
  readonly kind: string;
  /** Create the container / sandbox arguments, without touching the running miner. */
  prepare(release: StagedRelease, signal?: AbortSignal): Promise<unknown>;
  /** Stop the old miner and start the prepared one at once. */
  activate(prepared: unknown, signal?: AbortSignal): Promise<void>;
  /** Make `release` the running miner whatever runs now (recovery and rollback). */
  ensureRunning(release: StagedRelease, signal?: AbortSignal): Promise<void>;
  /** The new release is final: drop rollback material older than the previous release. */
  commit(release: StagedRelease): Promise<void>;
  /** What runs now (MinerRuntime.current); lets recovery see an adopted digest already running. */
  current?(): Promise<{ digest: string; manifestDigest: string; running: boolean } | undefined>;
  /** Optional runtime-specific rollback (docker restarts the kept container); else ensureRunning(to). */
  rollback?(to: StagedRelease, failed: StagedRelease, signal?: AbortSignal): Promise<void>;
  /** Optional: forget runtime material (containers, images) of a release that will never run. */
  discard?(release: StagedRelease): Promise<void>;
}

/** Lifecycle step 6: resolves when the miner is healthy, throws E_HEALTH otherwise. */
export type HealthCheck = (release: StagedRelease, signal?: AbortSignal) => Promise<void>;
