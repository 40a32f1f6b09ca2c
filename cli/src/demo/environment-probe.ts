import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { EnvironmentProbe } from './environment-plan';
import { BUILT_FILES, REPO_ROOT } from './demo-paths';

/** npm packages the demo's programs load, by the workspace that depends on them. */
export const NEEDED_MODULES: ReadonlyArray<readonly [workspace: string, module: string]> = [
  ['cli', 'commander'],
  ['signing', 'ajv'],
  ['signing', 'bcrypt-pbkdf'],
  ['registry-tools', 'zstd-napi'],
  ['hotspot-agent', 'express'],
  ['hotspot-agent', 'pino'],
  ['hotspot-agent', 'node-cron'],
  ['fleet', 'better-sqlite3'],
  ['fleet', 'prom-client'],
];

/** The sandbox's PATH directories that come from the host (slim mode binds /usr; /bin, /sbin mirror it). */
const SANDBOX_NODE_CANDIDATES = ['/usr/local/bin/node', '/usr/bin/node', '/bin/node'];

/** Finds an executable on PATH, plus the sbin directories a root shell has. */
export function findProgram(
  name: string,
  envPath: string | undefined = process.env.PATH,
): string | undefined {
  const dirs = [...(envPath ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function resolves(workspace: string, module: string): boolean {
  try {
    require.resolve(module, { paths: [join(REPO_ROOT, workspace)] });
    return true;
  } catch {
    return false;
  }
}

/** Looks at this machine: programs, node, npm packages and builds (reads only). */
export function probeEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentProbe {
  const bwrap = findProgram('bwrap', env.PATH);
  const registry = findProgram('docker-registry', env.PATH);
  const sandboxNode = SANDBOX_NODE_CANDIDATES.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      // A link to a node outside /usr (nvm's) would dangle inside the sandbox.
      return /^\/(usr|bin)\//.test(realpathSync(p));
    } catch {
      return false;
    }
  });
  return {
    nodeMajor: Number(process.versions.node.split('.')[0]),
    isRoot: process.getuid?.() === 0,
    hasAptGet: findProgram('apt-get', env.PATH) !== undefined,
    programs: {
      ...(bwrap !== undefined ? { bwrap } : {}),
      ...(registry !== undefined ? { 'docker-registry': registry } : {}),
    },
    ...(sandboxNode !== undefined ? { sandboxNode } : {}),
    missingModules: [
      ...new Set(NEEDED_MODULES.filter(([ws, mod]) => !resolves(ws, mod)).map(([, mod]) => mod)),
    ],
    missingBuilds: BUILT_FILES.filter((f) => !existsSync(f)),
    hasTypescript: resolves('.', 'typescript'),
    hasPackageLock: existsSync(join(REPO_ROOT, 'package-lock.json')),
  };
}
