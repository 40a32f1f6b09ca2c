import type Docker from 'dockerode';
import { MinerhaulError } from '@minerhaul/signing';
import { ensureFreeSpace, statfsProbe, type SpaceProbe } from '../store/free-space';
import {
  type ContainerFacts,
  type ContainerSettings,
  type CreateBody,
  createBodyFromContainer,
  createBodyFromSettings,
  type ImageFacts,
} from './container-spec';
import { type BlobImage, loadImageFromBlobs, type OpenBlob } from './docker-image-load';
import { containerName, LABELS } from './docker-labels';
import { pullByDigest } from './docker-pull';
import type {
  DockerCredentials,
  MinerRuntime,
  PreparedMiner,
  RunningMiner,
  RuntimeRelease,
} from './miner-runtime';

export interface DockerRuntimeOptions {
  /** Engine socket (default /var/run/docker.sock). */
  socketPath?: string;
  /** Container names are `<namePrefix>-<first 12 hex of the digest>` (default `minerhaul-miner`). */
  namePrefix?: string;
  /** Settings of the first container, when there is no old one to copy them from. */
  settings?: ContainerSettings;
  /** Registry credentials for a pull (never stored in the journal). */
  credentials?: (imageRef: string) => DockerCredentials | undefined;
  /** Seconds between SIGTERM and SIGKILL when stopping a miner (default 10). */
  stopTimeoutSeconds?: number;
  /** Free bytes on the file system at a path (default statfs), for the check before a pull. */
  spaceProbe?: SpaceProbe;
  /** Bytes always left free on the Engine's disk after a pull (default 32 MiB, as the blob store). */
  reserveBytes?: number;
}

/** A managed container as listed, with what its labels say. */
interface ManagedContainer {
  id: string;
  digest: string;
  running: boolean;
}

/**
 * Runs the miner as a Docker container (protocol-reference §7.5): the new container is created with the old
 * one's settings before the old one is stopped; the old one is kept, restart policy `no`, until commit, and
 * started again on rollback. Containers carry the release in labels, so every step can be redone after a
 * crash by looking at what exists.
 */
export class DockerRuntime implements MinerRuntime {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly options: DockerRuntimeOptions;
  private readonly prefix: string;
  private readonly stopTimeout: number;

  constructor(options: DockerRuntimeOptions = {}) {
    this.options = options;
    // Required here, not at module load: an agent on bubblewrap never constructs this class, and
    // dockerode costs ~10 MiB resident.
    const DockerClient = require('dockerode') as typeof Docker;
    this.docker = new DockerClient({ socketPath: options.socketPath ?? '/var/run/docker.sock' });
    this.prefix = options.namePrefix ?? 'minerhaul-miner';
    this.stopTimeout = options.stopTimeoutSeconds ?? 10;
  }

  async prepare(release: RuntimeRelease, signal?: AbortSignal): Promise<PreparedMiner> {
    const imageRef = release.docker?.imageRef;
    if (!imageRef)
      throw new MinerhaulError('E_CONFIG', `release ${release.version} has no docker image reference`);
    const existing = (await this.managed()).find((c) => c.digest === release.digest);
    if (existing) return { kind: this.kind, release, id: existing.id };

    await this.ensureImage(imageRef, release.docker?.layerBytes, signal);
    const body = await this.createBody(release, imageRef);
    const name = containerName(this.prefix, release.digest);
    try {
      const created = await this.call('create container', () =>
        this.docker.createContainer({
          _query: { name },
          _body: body,
        } as unknown as Docker.ContainerCreateOptions),
      );
      return { kind: this.kind, release, id: created.id };
    } catch (err) {
      // 409: a create redone after a crash; the name is derived from the digest, so it is ours.
      if (statusOf(err) !== 409) throw err;
      const info = await this.inspect(name);
      return { kind: this.kind, release, id: info.Id };
    }
  }

  async activate(prepared: PreparedMiner): Promise<void> {
    let target = await this.inspectOrUndefined(prepared.id);
    if (!target) target = await this.inspect((await this.prepare(prepared.release)).id);
    const others = (await this.managed()).filter((c) => c.id !== target.Id);
    // Two miners never run together. Everything else is disarmed first (policy `no` before any stop, or
    // dockerd would revive it, §7.4) and the running one is stopped last, so the gap between the old
    // miner's exit and the new one's start holds nothing but the start.
    for (const other of others) await this.disarm(other.id);
    for (const other of others) if (other.running) await this.stopContainer(other.id);
    const container = this.docker.getContainer(target.Id);
    await this.call('start container', () => container.start(), [304]);
    await this.arm(target);
  }

  async ensureRunning(release: RuntimeRelease, signal?: AbortSignal): Promise<void> {
    const all = await this.managed();
    const mine = all.find((c) => c.digest === release.digest);
    if (mine?.running && !all.some((c) => c.running && c.id !== mine.id)) {
      // A crash may have struck between start and arm: the policy is restored every time (idempotent).
      await this.arm(await this.inspect(mine.id));
      return;
    }
    await this.activate(await this.prepare(release, signal));
  }

  async current(): Promise<RunningMiner | undefined> {
    const all = await this.managed();
    const inspected = await Promise.all(all.map((c) => this.inspectOrUndefined(c.id)));
    const candidates = inspected.filter((c): c is DockerInspect => c !== undefined);
    const running = candidates.filter((c) => c.State.Running).sort(byStartedAt);
    const armed = candidates
      .filter((c) => (c.HostConfig.RestartPolicy?.Name ?? 'no') !== 'no')
      .sort(byStartedAt);
    const chosen = running[0] ?? armed[0];
    if (!chosen) return undefined;
    const labels = chosen.Config.Labels ?? {};
    return {
      kind: this.kind,
      digest: labels[LABELS.digest] ?? '',
      manifestDigest: labels[LABELS.manifestDigest] ?? '',
      version: labels[LABELS.version] ?? '',
      sequence: Number(labels[LABELS.sequence] ?? -1),
      running: chosen.State.Running === true,
      pid: chosen.State.Pid || undefined,
      containerId: chosen.Id,
      startedAt: chosen.State.StartedAt,
      restartCount: chosen.RestartCount ?? 0,
      health: chosen.State.Health?.Status ?? 'none',
    };
  }

  async stop(): Promise<void> {
    for (const c of await this.managed()) await this.disarmAndStop(c.id);
  }

  async commit(release: RuntimeRelease, previous?: RuntimeRelease): Promise<void> {
    const all = await this.managed();
    const inspected = (await Promise.all(all.map((c) => this.inspectOrUndefined(c.id)))).filter(
      (c): c is DockerInspect => c !== undefined,
    );
    const keepPrevious =
      previous?.digest ??
      inspected.filter((c) => c.Config.Labels?.[LABELS.digest] !== release.digest).sort(byStartedAt)[0]
        ?.Config.Labels?.[LABELS.digest];
    for (const c of inspected) {
      const digest = c.Config.Labels?.[LABELS.digest];
      if (digest === release.digest || digest === keepPrevious || c.State.Running) continue;
      await this.removeWithImage(c);
    }
  }

  async rollback(to: RuntimeRelease, _failed?: RuntimeRelease, signal?: AbortSignal): Promise<void> {
    // The kept container of `to` is found by its label and started again (§7.5 step 8).
    await this.activate(await this.prepare(to, signal));
  }

  async discard(release: RuntimeRelease): Promise<void> {
    for (const c of await this.managed()) {
      if (c.digest !== release.digest || c.running) continue;
      const info = await this.inspectOrUndefined(c.id);
      if (info) await this.removeWithImage(info);
    }
  }

  /**
   * Loads an image from verified blobs (offline bundles, `oci-layout:` sources) and returns its id, to be
   * used as the release's `docker.imageRef`: the Engine never contacts a registry for it.
   */
  async loadImage(image: BlobImage, open: OpenBlob): Promise<string> {
    const id = `sha256:${image.config.digest.slice('sha256:'.length)}`;
    if (await this.hasImage(id)) return id; // loaded before a crash, or shared with another release
    const layerBytes = image.layers.reduce((sum, l) => sum + l.size, 0);
    await this.ensureEngineSpace(`load of image ${id}`, layerBytes);
    return loadImageFromBlobs(this.docker, image, open);
  }

  private async ensureImage(
    imageRef: string,
    layerBytes: number | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    if (await this.hasImage(imageRef)) return;
    if (imageRef.startsWith('sha256:')) {
      throw new MinerhaulError('E_NOT_FOUND', `image ${imageRef} is not loaded in the Docker engine`);
    }
    if (layerBytes !== undefined) await this.ensureEngineSpace(`docker pull of ${imageRef}`, layerBytes);
    await pullByDigest(this.docker, imageRef, this.options.credentials?.(imageRef), signal);
    // The Engine checked the manifest against the digest while pulling; make sure it is there by that name.
    const pulled = await this.call('inspect pulled image', () => this.docker.getImage(imageRef).inspect());
    const repoDigest = imageRef.slice(imageRef.lastIndexOf('@') + 1);
    if (!(pulled.RepoDigests ?? []).some((d) => d.endsWith(`@${repoDigest}`))) {
      throw new MinerhaulError('E_DIGEST', `pulled image does not carry digest ${repoDigest}`, {
        details: { repoDigests: pulled.RepoDigests },
      });
    }
  }

  /** Copies the settings of the most recent managed container (running first), else the configured ones. */
  private async createBody(release: RuntimeRelease, imageRef: string): Promise<CreateBody> {
    const inspected = (
      await Promise.all((await this.managed()).map((c) => this.inspectOrUndefined(c.id)))
    ).filter((c): c is DockerInspect => c !== undefined);
    const template = [...inspected].sort(
      (a, b) => Number(b.State.Running) - Number(a.State.Running) || byStartedAt(a, b),
    )[0];
    if (!template) return createBodyFromSettings(release, imageRef, this.options.settings ?? {}, this.prefix);
    const oldImage = await this.docker
      .getImage(template.Image)
      .inspect()
      .then((i) => i as unknown as ImageFacts)
      .catch(() => undefined);
    return createBodyFromContainer(release, imageRef, template, oldImage, this.prefix);
  }

  private async disarmAndStop(id: string): Promise<void> {
    await this.disarm(id);
    await this.stopContainer(id);
  }

  /** Restart policy `no`: a kept container must not be revived by dockerd next to the active one. */
  private async disarm(id: string): Promise<void> {
    await this.call(
      'disarm container',
      () => this.docker.getContainer(id).update({ RestartPolicy: { Name: 'no' } }),
      [404],
    );
  }

  /** The active container gets back the restart policy saved in its label when it was created. */
  private async arm(target: DockerInspect): Promise<void> {
    const policy = target.Config.Labels?.[LABELS.restartPolicy] ?? 'unless-stopped';
    if (target.HostConfig.RestartPolicy?.Name === policy) return;
    await this.call('restore restart policy', () =>
      this.docker.getContainer(target.Id).update({ RestartPolicy: { Name: policy } }),
    );
  }

  private async stopContainer(id: string): Promise<void> {
    // 304: already stopped; 404: removed meanwhile. Both are the state we want.
    await this.call(
      'stop container',
      () => this.docker.getContainer(id).stop({ t: this.stopTimeout }),
      [304, 404],
    );
  }

  private async removeWithImage(info: DockerInspect): Promise<void> {
    await this.call(
      'remove container',
      () => this.docker.getContainer(info.Id).remove({ force: true }),
      [404],
    );
    // The image goes too unless another container (a kept release) still uses it.
    await this.docker
      .getImage(info.Image)
      .remove()
      .catch(() => undefined);
  }

  private async managed(): Promise<ManagedContainer[]> {
    const list = await this.call('list containers', () =>
      this.docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=${this.prefix}`] } }),
    );
    return list.map((c) => ({
      id: c.Id,
      digest: c.Labels?.[LABELS.digest] ?? '',
      running: c.State === 'running',
    }));
  }

  /** True when the Engine holds `imageRef` (a name pinned by digest, or an image id). */
  private async hasImage(imageRef: string): Promise<boolean> {
    return this.docker
      .getImage(imageRef)
      .inspect()
      .then(() => true)
      .catch((err: unknown) => {
        if (statusOf(err) === 404) return false;
        throw runtimeError('inspect image', err);
      });
  }

  /**
   * E_NO_SPACE before a pull or load that cannot fit: the Engine stores the compressed layers and then
   * their unpacked content (at least as large) under its root, so twice the layers plus the reserve,
   * as fetchAndUnpack asks of one disk. An Engine whose root this process cannot see (another
   * host, another mount namespace) is left to report its own ENOSPC through the pull or load.
   */
  private async ensureEngineSpace(what: string, layerBytes: number): Promise<void> {
    const info = (await this.call('engine info', () => this.docker.info())) as { DockerRootDir?: string };
    const root = info.DockerRootDir;
    if (!root) return;
    let available: number;
    try {
      available = await (this.options.spaceProbe ?? statfsProbe)(root);
    } catch (err) {
      if (['ENOENT', 'EACCES', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) return;
      throw err;
    }
    const needed = 2 * layerBytes + (this.options.reserveBytes ?? 32 * 1024 * 1024);
    await ensureFreeSpace(root, needed, what, async () => available);
  }

  private async inspect(id: string): Promise<DockerInspect> {
    return this.call(
      'inspect container',
      async () => (await this.docker.getContainer(id).inspect()) as unknown as DockerInspect,
    );
  }

  private async inspectOrUndefined(id: string): Promise<DockerInspect | undefined> {
    try {
      return (await this.docker.getContainer(id).inspect()) as unknown as DockerInspect;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw runtimeError('inspect container', err);
    }
  }

  /** Runs one Engine call; `okStatus` codes count as success (e.g. 304 "already started"). */
  private async call<T>(what: string, fn: () => Promise<T>, okStatus: number[] = []): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (okStatus.includes(statusOf(err) ?? 0)) return undefined as T;
      throw runtimeError(what, err);
    }
  }
}

type DockerInspect = ContainerFacts & {
  Id: string;
  Image: string;
  RestartCount?: number;
  State: {
    Running?: boolean;
    Pid?: number;
    StartedAt?: string;
    Health?: { Status: 'none' | 'starting' | 'healthy' | 'unhealthy' } | null;
  };
};

function byStartedAt(a: DockerInspect, b: DockerInspect): number {
  return Date.parse(b.State.StartedAt ?? '') - Date.parse(a.State.StartedAt ?? '') || 0;
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function runtimeError(what: string, err: unknown): MinerhaulError {
  if (err instanceof MinerhaulError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MinerhaulError('E_RUNTIME', `docker: ${what} failed: ${message}`, {
    cause: err,
    details: { statusCode: statusOf(err) },
  });
}
