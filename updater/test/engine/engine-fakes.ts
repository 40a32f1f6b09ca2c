import type { Descriptor, ImageStore } from '@minerhaul/registry-tools';
import { MinerhaulError } from '@minerhaul/signing';
import type {
  EngineRuntime,
  ManifestSelector,
  PlatformManifest,
  ReleaseStager,
  ReleaseVerifier,
  StagedRelease,
  UpdateEngineOptions,
  VerifiedStatement,
} from '@minerhaul/updater';

/** In-memory stand-ins for the engine's ports: these tests are about the engine, not the parts. */
export interface FakeRelease {
  digest: string;
  manifestDigest: string;
  version: string;
  sequence: number;
  blobs: string[];
  minAgentVersion?: string;
  rollout?: number;
  healthy?: boolean;
  badSignature?: boolean;
}

export const digestOf = (label: string): string =>
  `sha256:${Buffer.from(label).toString('hex').padEnd(64, '0').slice(0, 64)}`;

export function fakeRelease(
  version: string,
  sequence: number,
  extra: Partial<FakeRelease> = {},
): FakeRelease {
  return {
    digest: digestOf(`index-${version}`),
    manifestDigest: digestOf(`manifest-${version}`),
    version,
    sequence,
    blobs: [digestOf(`config-${version}`), digestOf('shared-layer'), digestOf(`layer-${version}`)],
    ...extra,
  };
}

export class FakeWorld {
  /** What the tag points at. */
  tagged: FakeRelease | undefined;
  readonly calls: string[] = [];
  readonly held = new Set<string>();
  readonly fetched: string[] = [];
  running: string | undefined;
  /** Digests of the running miner as the runtime labels it (set when it was started). */
  runningIds: { digest: string; manifestDigest: string } | undefined;
  failStage: MinerhaulError | undefined;
  private readonly releases = new Map<string, FakeRelease>();

  publish(release: FakeRelease): void {
    this.releases.set(release.digest, release);
    this.tagged = release;
  }

  store(): ImageStore {
    const unused = (): never => {
      throw new Error('not used by the engine');
    };
    return {
      location: 'fake/miner',
      repository: 'miner',
      resolve: async (reference: string): Promise<Descriptor | undefined> => {
        this.calls.push(`resolve ${reference}`);
        const t = this.tagged;
        return t && { mediaType: 'application/vnd.oci.image.index.v1+json', digest: t.digest, size: 1 };
      },
      getManifest: unused,
      openBlob: unused,
      hasBlob: unused,
      putBlob: unused,
      putManifest: unused,
      listTags: unused,
      listReferrers: unused,
    };
  }

  verifier(): ReleaseVerifier {
    return {
      verify: async ({ digest, installedSequence }): Promise<VerifiedStatement> => {
        this.calls.push(`verify ${digest}`);
        const r = this.releases.get(digest);
        if (r === undefined || r.badSignature)
          throw new MinerhaulError('E_SIGNATURE', 'no trusted signature');
        if (installedSequence !== undefined && r.sequence < installedSequence) {
          throw new MinerhaulError('E_ROLLBACK', 'older sequence');
        }
        return {
          repository: 'miner',
          digest,
          version: r.version,
          channel: 'stable',
          sequence: r.sequence,
          ...(r.minAgentVersion ? { minAgentVersion: r.minAgentVersion } : {}),
          ...(r.rollout !== undefined ? { rollout: r.rollout } : {}),
        };
      },
    };
  }

  selector(): ManifestSelector {
    return {
      select: async (_store, digest): Promise<PlatformManifest> => {
        this.calls.push(`select ${digest}`);
        const r = this.releases.get(digest);
        if (r === undefined) throw new MinerhaulError('E_NOT_FOUND', 'no manifest');
        const [config, ...layers] = r.blobs.map((b) => ({ mediaType: 'x', digest: b, size: 1 }));
        if (config === undefined) throw new Error('no config');
        return { manifestDigest: r.manifestDigest, config, layers };
      },
    };
  }

  stager(usesBlobStore = true): ReleaseStager {
    return {
      usesBlobStore,
      held: async (digests) => new Set(digests.filter((x) => this.held.has(x))),
      stage: async ({ target, manifest }): Promise<StagedRelease> => {
        this.calls.push(`stage ${target.version}`);
        if (this.failStage) throw this.failStage;
        const blobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
        for (const b of blobs) {
          if (!this.held.has(b)) {
            this.fetched.push(b);
            this.held.add(b);
          }
        }
        return {
          ...target,
          config: { entrypoint: ['/opt/miner/bin/miner'], cmd: [], env: [] },
          blobs,
          bubblewrap: { releaseDir: `/releases/${target.version}`, mode: 'slim' },
        };
      },
      discard: async (manifestDigest) => {
        this.calls.push(`discard ${this.versionOf(manifestDigest)}`);
      },
      gc: async (keep) => {
        this.calls.push(`gc ${keep.map((k) => k.version).join(',')}`);
      },
    };
  }

  runtime(): EngineRuntime {
    return {
      kind: 'fake',
      prepare: async (release) => {
        this.calls.push(`prepare ${release.version}`);
        return release;
      },
      activate: async (prepared) => {
        const release = prepared as StagedRelease;
        this.calls.push(`activate ${release.version}`);
        this.running = release.version;
        this.runningIds = { digest: release.digest, manifestDigest: release.manifestDigest };
      },
      ensureRunning: async (release) => {
        this.calls.push(`ensure ${release.version}`);
        this.running = release.version;
        this.runningIds = { digest: release.digest, manifestDigest: release.manifestDigest };
      },
      commit: async (release) => {
        this.calls.push(`commit ${release.version}`);
      },
      current: async () =>
        this.running === undefined || this.runningIds === undefined
          ? undefined
          : { ...this.runningIds, running: true },
    };
  }

  health() {
    return async (release: StagedRelease): Promise<void> => {
      this.calls.push(`health ${release.version}`);
      const r = [...this.releases.values()].find((x) => x.manifestDigest === release.manifestDigest);
      if (r?.healthy === false) throw new MinerhaulError('E_HEALTH', `${release.version} is unhealthy`);
    };
  }

  options(stateDir: string, extra: Partial<UpdateEngineOptions> = {}): UpdateEngineOptions {
    return {
      stateDir,
      store: this.store(),
      reference: 'stable',
      channel: 'stable',
      verifier: this.verifier(),
      selector: this.selector(),
      stager: this.stager(),
      runtime: this.runtime(),
      health: this.health(),
      now: () => new Date('2026-01-02T03:04:05Z'),
      ...extra,
    };
  }

  private versionOf(manifestDigest: string): string {
    return (
      [...this.releases.values()].find((r) => r.manifestDigest === manifestDigest)?.version ?? manifestDigest
    );
  }
}
