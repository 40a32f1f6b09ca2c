import { isAbsolute, resolve } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';

/** Where the demo publishes: Debian's CNCF registry, an OCI layout directory, or whichever can be had. */
export const REGISTRY_MODES = ['auto', 'docker-registry', 'oci-layout'] as const;
export type RegistryMode = (typeof REGISTRY_MODES)[number];

export interface DemoOptions {
  /** Keep everything running after the steps until Ctrl-C / SIGTERM. */
  keep: boolean;
  /** Never wait for anything once the steps are done (CI); refuses --keep. */
  nonInteractive: boolean;
  /** Working directory; a fresh temporary one (removed afterwards) when absent. */
  dir: string | undefined;
  registry: RegistryMode;
  /** May the demo run apt-get / npm for what is missing. */
  install: boolean;
}

/** What commander hands over (flags as typed on the command line). */
export interface DemoFlags {
  keep?: boolean;
  nonInteractive?: boolean;
  dir?: string;
  registry?: string;
  /** commander's `--no-install` sets this to false. */
  install?: boolean;
}

export function parseDemoOptions(flags: DemoFlags, cwd: string = process.cwd()): DemoOptions {
  const registry = flags.registry ?? 'auto';
  if (!(REGISTRY_MODES as readonly string[]).includes(registry)) {
    throw new MinerhaulError(
      'E_CONFIG',
      `--registry must be one of ${REGISTRY_MODES.join(', ')} (got '${registry}')`,
    );
  }
  const keep = flags.keep === true;
  const nonInteractive = flags.nonInteractive === true;
  if (keep && nonInteractive) {
    throw new MinerhaulError('E_CONFIG', '--keep waits for Ctrl-C: it cannot be used with --non-interactive');
  }
  if (flags.dir !== undefined && flags.dir.trim() === '') {
    throw new MinerhaulError('E_CONFIG', '--dir must name a directory');
  }
  return {
    keep,
    nonInteractive,
    dir: flags.dir === undefined ? undefined : isAbsolute(flags.dir) ? flags.dir : resolve(cwd, flags.dir),
    registry: registry as RegistryMode,
    install: flags.install !== false,
  };
}
