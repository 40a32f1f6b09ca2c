import { join, resolve } from 'node:path';
import {
  type Credentials,
  type ImageReference,
  type OpenStoreOptions,
  openStore,
  parseReference,
} from '@minerhaul/registry-tools';
import { MinerhaulError, type PublicKey, loadPublicKey } from '@minerhaul/signing';
import type { HealthSpec } from '../health/health-spec';
import type { ContainerSettings } from '../runtime/container-spec';
import type { EngineEvent } from './engine-events';
import { hostPlatform, platformSelector } from './image-fetch';
import type { EngineRuntime, HealthCheck, ReleaseStager, VerifiedStatement } from './ports';
import { blobLoadStager, blobStoreStager, pullStager } from './release-stager';
import { statementVerifier } from './statement-verifier';
import { UpdateEngine } from './update-engine';

/** The agent config's sections the engine needs (DESIGN.md "Agent config"), already validated. */
export interface CreateUpdateEngineInput {
  stateDir: string;
  /** The EFFECTIVE source: `source`, else `defaultSource`. */
  source: {
    ref: string;
    caCert?: string;
    pinnedCert?: string;
    insecure?: boolean;
    channel?: string;
    credentials?: Credentials;
  };
  trust: { keys: Array<string | PublicKey>; threshold?: number; identity?: string };
  runtime: {
    kind: 'bubblewrap' | 'docker';
    mode?: 'slim' | 'full';
    dataDir?: string;
    /** `uid[:gid]`. */
    user?: string;
    socketPath?: string;
    containerName?: string;
    env?: Record<string, string>;
    bwrapPath?: string;
  };
  health?: {
    kind: HealthSpec['kind'];
    url?: string;
    command?: string[];
    timeoutSeconds?: number;
    stableSeconds?: number;
  };
  platform?: string;
  agentVersion?: string;
  admit?: (statement: VerifiedStatement) => boolean;
  beforeSwap?: () => Promise<boolean>;
  onEvent?: (event: EngineEvent) => void;
  now?: () => Date;
  /** Test hook; the agent passes process.env.MINERHAUL_CRASH_AT only in tests. */
  crashAt?: string;
}

/**
 * The composition root of the update engine: opens the source, builds the verifier, stager,
 * runtime and health check the config asks for, and wires them into an UpdateEngine. Runtime
 * modules are required here, lazily, so an agent on bubblewrap never loads dockerode.
 */
export function createUpdateEngine(input: CreateUpdateEngineInput): UpdateEngine {
  const ref = parseReference(input.source.ref);
  const channel = input.source.channel ?? ref.tag;
  if (channel === undefined) {
    throw new MinerhaulError(
      'E_CONFIG',
      'source.ref has no tag: set source.channel to the channel to follow',
    );
  }
  const storeOptions: OpenStoreOptions = {
    ...(input.source.caCert !== undefined ? { caCert: input.source.caCert } : {}),
    ...(input.source.pinnedCert !== undefined ? { pinnedCert: input.source.pinnedCert } : {}),
    ...(input.source.insecure ? { insecure: true } : {}),
    ...(input.source.credentials ? { credentials: input.source.credentials } : {}),
  };
  const store = openStore(ref, storeOptions);
  const trustedKeys = input.trust.keys.map((k) => (typeof k === 'string' ? loadPublicKey(k) : k));
  const verifier = statementVerifier({
    trustedKeys,
    threshold: input.trust.threshold ?? 1,
    channel,
    ...(input.trust.identity !== undefined ? { identity: input.trust.identity } : {}),
    ...(input.agentVersion !== undefined ? { agentVersion: input.agentVersion } : {}),
  });
  const { runtime, stager } = makeRuntime(input, ref);
  return new UpdateEngine({
    stateDir: input.stateDir,
    store,
    reference: ref.digest ?? ref.tag ?? 'latest',
    channel,
    ...(input.trust.identity !== undefined ? { identity: input.trust.identity } : {}),
    verifier,
    selector: platformSelector(input.platform ?? hostPlatform()),
    stager,
    runtime,
    health: makeHealth(input, runtime),
    ...(input.agentVersion !== undefined ? { agentVersion: input.agentVersion } : {}),
    ...(input.admit ? { admit: input.admit } : {}),
    ...(input.beforeSwap ? { beforeSwap: input.beforeSwap } : {}),
    ...(input.onEvent ? { onEvent: input.onEvent } : {}),
    ...(input.now ? { now: input.now } : {}),
    ...(input.crashAt ? { crashAt: input.crashAt } : {}),
  });
}

type RuntimeModule = typeof import('../runtime');
type HealthModule = typeof import('../health');

function makeRuntime(
  input: CreateUpdateEngineInput,
  ref: ImageReference,
): {
  runtime: EngineRuntime & { current: () => Promise<unknown> };
  stager: ReleaseStager;
} {
  const r = input.runtime;
  if (r.kind === 'bubblewrap') {
    const { BubblewrapRuntime } = require('../runtime/bubblewrap-runtime') as Pick<
      RuntimeModule,
      'BubblewrapRuntime'
    >;
    const user = parseUser(r.user);
    return {
      runtime: new BubblewrapRuntime({
        stateDir: input.stateDir,
        dataDir: r.dataDir ?? join(input.stateDir, 'data'),
        ...(user ? { user } : {}),
        ...(r.bwrapPath ? { bwrapPath: r.bwrapPath } : {}),
        ...(r.env ? { env: envEntries(r.env) } : {}),
      }),
      stager: blobStoreStager({ stateDir: input.stateDir, mode: r.mode ?? 'slim' }),
    };
  }
  const credentials = input.source.credentials;
  const { DockerRuntime } = require('../runtime/docker-runtime') as Pick<RuntimeModule, 'DockerRuntime'>;
  const runtime = new DockerRuntime({
    ...(r.socketPath ? { socketPath: r.socketPath } : {}),
    ...(r.containerName ? { namePrefix: r.containerName } : {}),
    ...(r.env || r.dataDir ? { settings: dockerSettings(r.env, r.dataDir) } : {}),
    ...(credentials && ref.kind === 'registry'
      ? { credentials: () => ({ ...credentials, serveraddress: ref.registry }) }
      : {}),
  });
  if (ref.kind !== 'registry') {
    // No registry for the Engine to pull from: the verified blobs are loaded into it (0354).
    return {
      runtime,
      stager: blobLoadStager({
        stateDir: input.stateDir,
        load: (image, open) => runtime.loadImage(image, open),
      }),
    };
  }
  // The Engine pulls from where the agent resolved: same registry, repository, manifest digest.
  const repoRef = `${ref.registry}/${ref.repository}`;
  return {
    runtime,
    stager: pullStager({ imageRef: (manifestDigest) => `${repoRef}@${manifestDigest}` }),
  };
}

/** The miner's persistent data directory is bound where the bubblewrap runtime mounts it too. */
const MINER_DATA_MOUNT = '/var/lib/miner';

function dockerSettings(
  env: Record<string, string> | undefined,
  dataDir: string | undefined,
): ContainerSettings {
  return {
    ...(env ? { env: envEntries(env) } : {}),
    ...(dataDir ? { binds: [`${resolve(dataDir)}:${MINER_DATA_MOUNT}`] } : {}),
  };
}

function envEntries(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

function makeHealth(
  input: CreateUpdateEngineInput,
  runtime: { current: () => Promise<unknown> },
): HealthCheck {
  const { healthCheckFor } = require('../health') as Pick<HealthModule, 'healthCheckFor'>;
  const h = input.health ?? { kind: 'running', stableSeconds: 10 };
  const timeoutSeconds = h.timeoutSeconds ?? 60;
  const stable = h.stableSeconds !== undefined ? { stableSeconds: h.stableSeconds } : {};
  let spec: HealthSpec;
  switch (h.kind) {
    case 'running':
      spec = { kind: 'running', stableSeconds: h.stableSeconds ?? 10 };
      break;
    case 'http':
      if (h.url === undefined)
        throw new MinerhaulError('E_CONFIG', 'health.url is required for an http check');
      spec = { kind: 'http', url: h.url, timeoutSeconds, ...stable };
      break;
    case 'exec':
      if (h.command === undefined || h.command.length === 0) {
        throw new MinerhaulError('E_CONFIG', 'health.command is required for an exec check');
      }
      spec = { kind: 'exec', command: h.command, timeoutSeconds, ...stable };
      break;
    case 'docker':
      spec = { kind: 'docker', timeoutSeconds, ...stable };
      break;
  }
  return healthCheckFor(spec, runtime as Parameters<typeof healthCheckFor>[1]);
}

function parseUser(user: string | undefined): { uid: number; gid: number } | undefined {
  if (user === undefined) return undefined;
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (m === null) throw new MinerhaulError('E_CONFIG', `runtime.user must be uid[:gid], got ${user}`);
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}
