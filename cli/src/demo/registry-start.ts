import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import { fetchBounded, waitFor } from './bounded-wait';
import type { DemoLayout } from './demo-paths';
import { freePort } from './free-port';
import type { ServiceProcess, ServiceProcesses } from './service-processes';

/** The repository and channel the demo publishes to and the agent follows. */
export const DEMO_REPOSITORY = 'sample-miner';
export const DEMO_CHANNEL = 'stable';

export interface DemoRegistry {
  kind: 'docker-registry' | 'oci-layout';
  /** `127.0.0.1:PORT/sample-miner` or `oci-layout:DIR`: add `:TAG` for a reference. */
  repository: string;
  /** What the agent follows: the repository's `stable` tag. */
  channelRef: string;
  /** Why the OCI layout stands in, when it does. */
  fallbackReason?: string;
  service?: ServiceProcess;
}

const START_ATTEMPTS = 3;

/** Debian's registry reads YAML; JSON strings are valid YAML scalars. */
function registryConfig(storage: string, addr: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storage)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${addr}`,
    '',
  ].join('\n');
}

/**
 * Starts Debian's CNCF registry (docker-registry) on a free 127.0.0.1 port, trying a few ports in case
 * one is taken between the probe and the listen. When `fallback` is allowed and no registry comes up,
 * an OCI layout directory stands in (DESIGN.md "References": `oci-layout:DIR[:TAG]`).
 */
export async function startDemoRegistry(input: {
  kind: 'docker-registry' | 'oci-layout';
  program: string | undefined;
  fallback: boolean;
  layout: DemoLayout;
  processes: ServiceProcesses;
  env: NodeJS.ProcessEnv;
  fallbackReason?: string;
}): Promise<DemoRegistry> {
  const layoutRegistry = (reason?: string): DemoRegistry => {
    mkdirSync(input.layout.layoutRegistry, { recursive: true });
    const repository = `oci-layout:${input.layout.layoutRegistry}`;
    return {
      kind: 'oci-layout',
      repository,
      channelRef: `${repository}:${DEMO_CHANNEL}`,
      ...(reason !== undefined ? { fallbackReason: reason } : {}),
    };
  };
  if (input.kind === 'oci-layout' || input.program === undefined) return layoutRegistry(input.fallbackReason);

  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const host = `127.0.0.1:${await freePort()}`;
    const configPath = join(input.layout.registryDir, 'config.yml');
    mkdirSync(input.layout.registryDir, { recursive: true });
    writeFileSync(configPath, registryConfig(join(input.layout.registryDir, 'data'), host));
    const service = input.processes.start({
      name: 'registry',
      command: input.program,
      args: ['serve', configPath],
      env: input.env,
    });
    try {
      await waitFor(
        async () => {
          if (!service.running()) {
            throw new MinerhaulError('E_REGISTRY', `docker-registry exited: ${service.stderr().trim()}`);
          }
          const res = await fetchBounded(`http://${host}/v2/`, { timeoutMs: 2_000 }).catch(() => undefined);
          return res?.ok ? true : undefined;
        },
        { what: `docker-registry on ${host}`, timeoutMs: 15_000, code: 'E_REGISTRY' },
      );
      const repository = `${host}/${DEMO_REPOSITORY}`;
      return { kind: 'docker-registry', repository, channelRef: `${repository}:${DEMO_CHANNEL}`, service };
    } catch (err) {
      lastError = err;
      await input.processes.stop(service, 2_000);
    }
  }
  const why = lastError instanceof Error ? lastError.message : String(lastError);
  if (input.fallback) return layoutRegistry(`docker-registry did not start (${why})`);
  throw new MinerhaulError('E_REGISTRY', `docker-registry did not start: ${why}`, { cause: lastError });
}
