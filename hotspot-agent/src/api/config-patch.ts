import { canonicalJson } from '@minerhaul/signing';
import { MinerhaulError } from '../errors';
import type { AgentConfig } from '../config/agent-config';
import { validateAgentConfig } from '../config/config-schema';

/**
 * Top-level keys a local process may change without an owner signature. Everything else (source and
 * its TLS settings, trust, the owner keys themselves, runtime and health commands, fleet) decides what
 * code runs or where data goes: docs/decisions/0502-owner-signed-requests.md.
 */
export const UNSIGNED_CONFIG_KEYS: ReadonlySet<string> = new Set(['schedule']);

/** Keys that only the config file may set: they locate the device's identity and state. */
const FILE_ONLY_KEYS: ReadonlySet<string> = new Set(['stateDir', 'deviceKey']);
const REQUIRED_KEYS: ReadonlySet<string> = new Set(['trust', 'runtime']);

export interface ConfigPatchPlan {
  next: AgentConfig;
  /** Top-level keys whose value changes. */
  changed: string[];
  needsOwnerSignature: boolean;
}

/**
 * Applies a PUT /v1/config body to the file's config: each top-level key given replaces that key
 * (JSON merge patch, RFC 7396, at the top level; null removes an optional key, e.g. `source: null`
 * returns to the default source). The result is validated like the config file (E_CONFIG).
 */
export function planConfigPatch(current: AgentConfig, patch: unknown): ConfigPatchPlan {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new MinerhaulError('E_CONFIG', 'body must be a JSON object of config keys', {
      details: { errors: ['/: must be object'] },
    });
  }
  const next: Record<string, unknown> = { ...current };
  const changed: string[] = [];
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    const before = (current as unknown as Record<string, unknown>)[key];
    const same =
      value === null
        ? before === undefined
        : before !== undefined && canonicalJson(before) === canonicalJson(value);
    if (same) continue;
    if (FILE_ONLY_KEYS.has(key)) {
      throw new MinerhaulError('E_CONFIG', `/${key}: can only be changed in the config file`, {
        details: { errors: [`/${key}: can only be changed in the config file`] },
      });
    }
    if (value === null) {
      if (REQUIRED_KEYS.has(key)) {
        throw new MinerhaulError('E_CONFIG', `/${key}: is required and cannot be removed`, {
          details: { errors: [`/${key}: is required`] },
        });
      }
      delete next[key];
    } else {
      next[key] = value;
    }
    changed.push(key);
  }
  const validated = validateAgentConfig(next, 'new config');
  return {
    next: validated,
    changed,
    needsOwnerSignature: changed.some((k) => !UNSIGNED_CONFIG_KEYS.has(k)),
  };
}

const SECRET_NAME = /pass|secret|token|credential|auth/i;
const REDACTED = '<redacted>';

/** A copy fit to show: miner environment values and anything named like a secret are hidden. */
export function redactConfig(config: AgentConfig): unknown {
  const walk = (value: unknown, key: string | undefined): unknown => {
    if (key !== undefined && SECRET_NAME.test(key)) return REDACTED;
    if (Array.isArray(value)) return value.map((v) => walk(v, undefined));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    }
    return value;
  };
  const out = walk(config, undefined) as AgentConfig;
  if (out.runtime.env !== undefined) {
    out.runtime.env = Object.fromEntries(Object.keys(out.runtime.env).map((k) => [k, REDACTED]));
  }
  return out;
}
