import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isPublicKeyLine } from '@minerhaul/signing';
import { MinerhaulError } from '../errors';
import type { AgentConfig, SourceConfig } from './agent-config';
import { validateAgentConfig } from './config-schema';

/** Parses and validates config text; JSON syntax errors are E_CONFIG too. */
export function parseAgentConfig(text: string, origin = 'config'): AgentConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MinerhaulError('E_CONFIG', `${origin} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
      details: { errors: [`/: ${(err as Error).message}`] },
    });
  }
  return validateAgentConfig(value, origin);
}

/** Reads and validates a config file as written, relative paths unresolved (what config edits start from). */
export async function readAgentConfigFile(path: string): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MinerhaulError('E_CONFIG', `cannot read config ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseAgentConfig(text, path);
}

/** Reads, validates and resolves a config file: relative paths are taken from the file's directory. */
export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  return resolveConfigPaths(await readAgentConfigFile(path), configBase(path));
}

/** The directory relative paths in the config file at `path` are resolved from. */
export function configBase(path: string): string {
  return dirname(resolve(path));
}

const isPem = (value: string): boolean => value.includes('-----BEGIN');

function resolvePath(base: string, value: string): string {
  return isAbsolute(value) ? value : resolve(base, value);
}

function resolveSource(base: string, source: SourceConfig | undefined): SourceConfig | undefined {
  if (source === undefined) return undefined;
  const out: SourceConfig = { ...source };
  if (out.caCert !== undefined && !isPem(out.caCert)) out.caCert = resolvePath(base, out.caCert);
  if (out.pinnedCert !== undefined && !isPem(out.pinnedCert))
    out.pinnedCert = resolvePath(base, out.pinnedCert);
  const layout = /^oci-layout:(.*)$/.exec(out.ref);
  if (layout?.[1] !== undefined && !isAbsolute(layout[1])) out.ref = `oci-layout:${resolve(base, layout[1])}`;
  return out;
}

/** Makes every path in the config absolute against `base` (the config file's directory). */
export function resolveConfigPaths(config: AgentConfig, base: string): AgentConfig {
  const keys = (list: string[]): string[] =>
    list.map((k) => (isPublicKeyLine(k) ? k.trim() : resolvePath(base, k)));
  const out: AgentConfig = {
    ...config,
    stateDir: resolvePath(base, config.stateDir),
    trust: { ...config.trust, keys: keys(config.trust.keys) },
    runtime: { ...config.runtime },
  };
  if (config.deviceKey !== undefined) out.deviceKey = resolvePath(base, config.deviceKey);
  const source = resolveSource(base, config.source);
  if (source !== undefined) out.source = source;
  const defaultSource = resolveSource(base, config.defaultSource);
  if (defaultSource !== undefined) out.defaultSource = defaultSource;
  if (config.runtime.dataDir !== undefined) out.runtime.dataDir = resolvePath(base, config.runtime.dataDir);
  if (config.api?.ownerKeys !== undefined) out.api = { ...config.api, ownerKeys: keys(config.api.ownerKeys) };
  if (config.lock?.path !== undefined)
    out.lock = { ...config.lock, path: resolvePath(base, config.lock.path) };
  return out;
}
