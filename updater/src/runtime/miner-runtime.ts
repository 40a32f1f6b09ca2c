/**
 * The runtime boundary of the update engine: how a verified, staged release becomes the running miner.
 * No dockerode or child_process types leak through here (STYLE.md "Runtimes sit behind our own interface").
 *
 * Every operation is idempotent and safe to redo after a SIGKILL of the agent at any instant: the engine
 * journals "about to do X" and simply does X again on restart.
 */

export type RuntimeKind = 'bubblewrap' | 'docker';

/** The process part of the OCI image config (image-spec config.md `config`). */
export interface MinerConfig {
  entrypoint: string[];
  cmd: string[];
  /** `KEY=VALUE` strings, as in the OCI config. */
  env: string[];
  workingDir?: string;
  /** `uid[:gid]` (numeric only for bubblewrap; see docs/decisions/0352). */
  user?: string;
}

/** Registry credentials handed to the Docker engine (X-Registry-Auth, protocol-reference §7.1). */
export type DockerCredentials =
  | { username: string; password: string; serveraddress?: string }
  | { identitytoken: string; serveraddress?: string };

/**
 * A verified release staged on disk or in the engine, as the runtimes need it. The engine's own
 * `StagedRelease` (journalled, credential-free) is structurally a superset of this.
 */
export interface RuntimeRelease {
  /** The digest that was signed (index or manifest). */
  digest: string;
  /** This platform's manifest digest. */
  manifestDigest: string;
  version: string;
  sequence: number;
  bubblewrap?: {
    /** The unpacked rootfs of the release (what the safe unpacker wrote). */
    releaseDir: string;
    mode: 'slim' | 'full';
  };
  docker?: {
    /** `registry/repo@sha256:…` to pull by digest, or an image id (`sha256:…`) already loaded from verified blobs. */
    imageRef: string;
    /** The image's compressed layer bytes: a pull is refused (E_NO_SPACE) when the Engine's disk cannot hold it. */
    layerBytes?: number;
  };
  config: MinerConfig;
}

/** A miner made ready to start (sandbox arguments built, or container created), not yet running. */
export interface PreparedMiner {
  readonly kind: RuntimeKind;
  readonly release: RuntimeRelease;
  /** Runtime handle: the container id (docker) or the release digest (bubblewrap). */
  readonly id: string;
}

/** What runs now, as the runtime sees it. */
export interface RunningMiner {
  kind: RuntimeKind;
  digest: string;
  manifestDigest: string;
  version: string;
  sequence: number;
  running: boolean;
  /** Host pid of the sandbox (bubblewrap) or of the container's main process (docker). */
  pid?: number;
  containerId?: string;
  startedAt?: string;
  /** Restarts after crashes since this release was activated. */
  restartCount: number;
  /** Docker HEALTHCHECK state when the container has one. */
  health?: 'none' | 'starting' | 'healthy' | 'unhealthy';
}

export interface MinerRuntime {
  readonly kind: RuntimeKind;
  /** Make `release` ready to start without touching the running miner (pull, create, check the tree). */
  prepare(release: RuntimeRelease, signal?: AbortSignal): Promise<PreparedMiner>;
  /** Stop the running miner, then start `prepared` at once: two miners never run together. */
  activate(prepared: PreparedMiner): Promise<void>;
  /** Idempotent: make sure `release` is the one running (the engine's crash recovery calls it). */
  ensureRunning(release: RuntimeRelease, signal?: AbortSignal): Promise<void>;
  current(): Promise<RunningMiner | undefined>;
  /** Stop the miner (and its supervisor); idempotent. */
  stop(): Promise<void>;
  /**
   * `release` is committed: drop rollback material of any release other than it and `previous`
   * (default: the release that ran before it).
   */
  commit(release: RuntimeRelease, previous?: RuntimeRelease): Promise<void>;
  /** Return to `to` after `failed` failed its health check (docker restarts the kept container). */
  rollback(to: RuntimeRelease, failed: RuntimeRelease, signal?: AbortSignal): Promise<void>;
  /** Forget runtime material (containers) of a release that will never run; idempotent. */
  discard(release: RuntimeRelease): Promise<void>;
}

export const DEFAULT_DATA_MOUNT = '/var/lib/miner';
export const DEFAULT_SLIM_PREFIX = '/opt/miner';
