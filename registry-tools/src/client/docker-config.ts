import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import { DOCKER_HUB_HOST } from '../reference';
import type { Credentials } from './registry-auth';

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (docker CLI's lookup). */
export function defaultDockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** Keys docker login writes for a host; Docker Hub lives under its legacy index URL. */
function candidateKeys(registry: string): string[] {
  if (registry === DOCKER_HUB_HOST) {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [
    registry,
    `https://${registry}`,
    `http://${registry}`,
    `https://${registry}/v1/`,
    `https://${registry}/v2/`,
  ];
}

/**
 * Credentials for `registry` from a docker config file's `auths` (inline `auth` or username/password).
 * A missing file means anonymous; an unreadable or malformed one is E_CONFIG. Credential helpers are
 * not run (they would execute programs named by a config file).
 */
export function readDockerCredentials(
  registry: string,
  path = defaultDockerConfigPath(),
): Credentials | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MinerhaulError('E_CONFIG', `cannot read docker config ${path}`, { cause: err });
  }
  let config: { auths?: Record<string, { auth?: unknown; username?: unknown; password?: unknown }> };
  try {
    config = JSON.parse(text) as typeof config;
  } catch (cause) {
    throw new MinerhaulError('E_CONFIG', `docker config ${path} is not valid JSON`, { cause });
  }
  const auths = config.auths ?? {};
  for (const key of candidateKeys(registry)) {
    const entry = auths[key];
    if (!entry) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0)
        throw new MinerhaulError('E_CONFIG', `docker config ${path}: malformed auth for ${key}`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      return { username: entry.username, password: entry.password };
    }
  }
  return undefined;
}
