import { MinerhaulError } from '@minerhaul/signing';
import { isOwnLabel, LABELS, releaseLabels } from './docker-labels';
import type { RuntimeRelease } from './miner-runtime';

/** Settings of the first miner container, when no old container exists to copy them from. */
export interface ContainerSettings {
  env?: string[];
  /** `host:container[:ro]` binds, e.g. the persistent data directory. */
  binds?: string[];
  /** `"8080/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }]` as the Engine API takes them. */
  portBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>>;
  /** `no`, `always`, `unless-stopped` or `on-failure` (default `unless-stopped`). */
  restartPolicy?: string;
  /** `host`, `none`, `bridge` or a network name (default `host`, as gateways expose their own ports). */
  networkMode?: string;
  labels?: Record<string, string>;
  /** Host devices (e.g. `/dev/ttyUSB0`). */
  devices?: string[];
  /** Overrides the image's HEALTHCHECK (Engine API HealthConfig; durations in nanoseconds). */
  healthcheck?: {
    Test: string[];
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
  };
}

/** The parts of a container inspect (GET /containers/{id}/json) this module reads. */
export interface ContainerFacts {
  Config: {
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
    Healthcheck?: unknown;
    StopSignal?: string;
  };
  HostConfig: Record<string, unknown> & { RestartPolicy?: { Name?: string; MaximumRetryCount?: number } };
}

/** The parts of an image inspect (GET /images/{id}/json) this module reads. */
export interface ImageFacts {
  Config?: { Env?: string[] | null; Labels?: Record<string, string> | null; Healthcheck?: unknown } | null;
}

/** Body of POST /containers/create (Engine API ContainerConfig + HostConfig). */
export interface CreateBody {
  Image: string;
  Env: string[];
  Labels: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  Healthcheck?: unknown;
  StopSignal?: string;
  HostConfig: Record<string, unknown>;
}

const RESTART_POLICIES = new Set(['no', 'always', 'unless-stopped', 'on-failure']);

/**
 * The create body for `release` on `image`: the old container's own settings (env, mounts, ports, labels,
 * host config) carried over, minus what came from the old image (its env, labels and HEALTHCHECK belong
 * to that image, not to the owner's setup). The restart policy is stored in a label and the container is
 * created with `no`, so it cannot be revived next to the running miner before it is activated (§7.4).
 */
export function createBodyFromContainer(
  release: RuntimeRelease,
  image: string,
  container: ContainerFacts,
  oldImage: ImageFacts | undefined,
  instance: string,
): CreateBody {
  const imageEnv = new Set(oldImage?.Config?.Env ?? []);
  const imageLabels = oldImage?.Config?.Labels ?? {};
  const env = (container.Config.Env ?? []).filter((e) => !imageEnv.has(e));
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(container.Config.Labels ?? {})) {
    if (!isOwnLabel(key) && imageLabels[key] !== value) labels[key] = value;
  }
  const savedPolicy =
    container.Config.Labels?.[LABELS.restartPolicy] ??
    container.HostConfig.RestartPolicy?.Name ??
    'unless-stopped';
  const healthcheck =
    JSON.stringify(container.Config.Healthcheck ?? null) !==
    JSON.stringify(oldImage?.Config?.Healthcheck ?? null)
      ? container.Config.Healthcheck
      : undefined;
  return {
    Image: image,
    Env: env,
    Labels: { ...labels, ...releaseLabels(release, policyName(savedPolicy || 'unless-stopped'), instance) },
    ...(container.Config.ExposedPorts ? { ExposedPorts: container.Config.ExposedPorts } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(container.Config.StopSignal ? { StopSignal: container.Config.StopSignal } : {}),
    HostConfig: { ...container.HostConfig, RestartPolicy: { Name: 'no' } },
  };
}

/** The create body for the first install, from the runtime's configured settings. */
export function createBodyFromSettings(
  release: RuntimeRelease,
  image: string,
  settings: ContainerSettings,
  instance: string,
): CreateBody {
  const policy = policyName(settings.restartPolicy ?? 'unless-stopped');
  for (const entry of settings.env ?? []) {
    if (entry.indexOf('=') <= 0) throw new MinerhaulError('E_CONFIG', `invalid environment entry '${entry}'`);
  }
  const exposed = settings.portBindings
    ? Object.fromEntries(Object.keys(settings.portBindings).map((port) => [port, {}]))
    : undefined;
  return {
    Image: image,
    Env: settings.env ?? [],
    Labels: { ...(settings.labels ?? {}), ...releaseLabels(release, policy, instance) },
    ...(exposed ? { ExposedPorts: exposed } : {}),
    ...(settings.healthcheck ? { Healthcheck: settings.healthcheck } : {}),
    HostConfig: {
      Binds: settings.binds ?? [],
      PortBindings: settings.portBindings ?? {},
      NetworkMode: settings.networkMode ?? 'host',
      Devices: (settings.devices ?? []).map((d) => ({
        PathOnHost: d,
        PathInContainer: d,
        CgroupPermissions: 'rwm',
      })),
      RestartPolicy: { Name: 'no' },
    },
  };
}

function policyName(name: string): string {
  if (!RESTART_POLICIES.has(name)) {
    throw new MinerhaulError(
      'E_CONFIG',
      `restart policy '${name}' is not one of ${[...RESTART_POLICIES].join(', ')}`,
    );
  }
  return name;
}
