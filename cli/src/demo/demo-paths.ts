import { join } from 'node:path';

/**
 * The repository the demo runs from: this file is cli/src/demo (jest) or cli/dist/demo (built),
 * three levels below the root either way.
 */
export const REPO_ROOT = join(__dirname, '..', '..', '..');

/** Programs of this repository the demo starts, as a user would. */
export const REPO_PROGRAMS = {
  cli: join(REPO_ROOT, 'cli', 'bin', 'minerhaul.js'),
  agent: join(REPO_ROOT, 'hotspot-agent', 'bin', 'minerhaul-agent.js'),
  minerBuild: join(REPO_ROOT, 'images', 'sample-miner', 'build.js'),
} as const;

/** Compiled files the programs above need (`npm ci` runs `tsc -b`). */
export const BUILT_FILES = [
  join(REPO_ROOT, 'cli', 'dist', 'main.js'),
  join(REPO_ROOT, 'hotspot-agent', 'dist', 'agent-main.js'),
  join(REPO_ROOT, 'fleet', 'dist', 'fleet-serve.js'),
  join(REPO_ROOT, 'updater', 'dist', 'index.js'),
  join(REPO_ROOT, 'registry-tools', 'dist', 'index.js'),
  join(REPO_ROOT, 'signing', 'dist', 'index.js'),
] as const;

/** Everything the demo writes, inside one working directory. */
export interface DemoLayout {
  root: string;
  keys: {
    maintainerPublic: string;
    maintainerSecret: string;
    roguePublic: string;
    rogueSecret: string;
  };
  /** OCI layout the builds go to (one tag per version). */
  builds: string;
  /** The fallback "registry": an OCI layout directory the agent reads. */
  layoutRegistry: string;
  registryDir: string;
  fleetDb: string;
  fleetConfig: string;
  adminTokenFile: string;
  agentConfig: string;
  agentState: string;
  minerData: string;
  logs: string;
}

export function demoLayout(root: string): DemoLayout {
  return {
    root,
    keys: {
      maintainerPublic: join(root, 'keys', 'maintainer.pub'),
      maintainerSecret: join(root, 'keys', 'maintainer.sec'),
      roguePublic: join(root, 'keys', 'rogue.pub'),
      rogueSecret: join(root, 'keys', 'rogue.sec'),
    },
    builds: join(root, 'builds'),
    layoutRegistry: join(root, 'published'),
    registryDir: join(root, 'registry'),
    fleetDb: join(root, 'fleet', 'fleet.db'),
    fleetConfig: join(root, 'fleet', 'fleet.json'),
    adminTokenFile: join(root, 'fleet', 'admin-token'),
    agentConfig: join(root, 'agent', 'agent.json'),
    agentState: join(root, 'agent', 'state'),
    minerData: join(root, 'agent', 'miner-data'),
    logs: join(root, 'logs'),
  };
}
