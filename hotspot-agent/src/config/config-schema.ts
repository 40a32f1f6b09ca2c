import { join } from 'node:path';
import { asGeneratedValidator, type SchemaError } from '@minerhaul/signing';
import { MinerhaulError } from '../errors';
import type { AgentConfig } from './agent-config';
import { validateConfig } from './config-validator.generated';

const validator = asGeneratedValidator(validateConfig);

/** Path of the published JSON Schema of the agent config. */
export const CONFIG_SCHEMA_PATH = join(__dirname, '..', '..', 'schema', 'config.schema.json');

/** One line per failure: the JSON path (RFC 6901 pointer) and what was expected there. */
export function describeSchemaErrors(errors: readonly SchemaError[]): string[] {
  return errors.map((e) => {
    const at = e.instancePath === '' ? '/' : e.instancePath;
    if (e.keyword === 'additionalProperties') {
      return `${at}: unknown property '${String(e.params.additionalProperty)}'`;
    }
    if (e.keyword === 'required')
      return `${at}: missing required property '${String(e.params.missingProperty)}'`;
    if (e.keyword === 'enum') {
      return `${at}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return `${at}: ${e.message ?? e.keyword}`;
  });
}

/**
 * Checks a parsed config against the published schema plus the rules JSON Schema cannot say.
 * Throws E_CONFIG naming every failing JSON path (details.errors lists them).
 */
export function validateAgentConfig(value: unknown, origin = 'config'): AgentConfig {
  const problems: string[] = [];
  if (!validator(value)) {
    problems.push(...describeSchemaErrors(validator.errors ?? []));
  } else {
    const config = value as AgentConfig;
    if (config.source === undefined && config.defaultSource === undefined) {
      problems.push("/: needs 'source' or 'defaultSource'");
    }
    const threshold = config.trust.threshold ?? 1;
    if (threshold > config.trust.keys.length) {
      problems.push(`/trust/threshold: must be at most the number of keys (${config.trust.keys.length})`);
    }
    if (config.health?.kind === 'http' && config.health.url === undefined) {
      problems.push("/health: missing required property 'url' (kind http)");
    }
    if (config.health?.kind === 'exec' && config.health.command === undefined) {
      problems.push("/health: missing required property 'command' (kind exec)");
    }
    if (config.health?.kind === 'docker' && config.runtime.kind !== 'docker') {
      problems.push("/health/kind: 'docker' needs runtime kind 'docker'");
    }
    const port = config.api?.listen?.split(':').pop();
    if (port !== undefined && Number(port) > 65535) problems.push('/api/listen: port must be at most 65535');
  }
  if (problems.length > 0) {
    throw new MinerhaulError('E_CONFIG', `${origin} is invalid: ${problems.join('; ')}`, {
      details: { errors: problems },
    });
  }
  return value as AgentConfig;
}
