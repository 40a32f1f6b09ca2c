import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { MinerhaulError } from './errors';
import type { FleetServerOptions } from './fleet-server';
import { DEFAULT_SERVER_OPTIONS } from './server-defaults';
import { publicKeyFromBase64 } from './report-signature';

/** The `fleet serve --config` file. Every field is optional; flags override the file. */
export interface FleetConfig {
  db?: string;
  listen?: string;
  adminTokenFile?: string;
  reportIntervalSeconds?: number;
  bucketSeconds?: number;
  seriesPoints?: number;
  retentionDays?: number;
  maxReportBytes?: number;
  maxReportAgeSeconds?: number;
  maxClockSkewSeconds?: number;
  /** Raw base64 ed25519 device keys allowed to report (instead of trust on first use). */
  allowedKeys?: string[];
  /** A file with one such key per line ('#' comments allowed). */
  allowListFile?: string;
}

const positive = (max: number) => ({ type: 'integer', minimum: 1, maximum: max }) as const;

export const FleetConfig = {
  type: 'object',
  additionalProperties: false,
  properties: {
    db: { type: 'string', minLength: 1 },
    listen: { type: 'string', minLength: 1 },
    adminTokenFile: { type: 'string', minLength: 1 },
    reportIntervalSeconds: positive(7 * 86400),
    bucketSeconds: positive(86400),
    seriesPoints: positive(10_000),
    retentionDays: positive(3650),
    maxReportBytes: { type: 'integer', minimum: 512, maximum: 1024 * 1024 },
    maxReportAgeSeconds: positive(7 * 86400),
    maxClockSkewSeconds: positive(86400),
    allowedKeys: { type: 'array', items: { type: 'string' }, maxItems: 10_000_000 },
    allowListFile: { type: 'string', minLength: 1 },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(FleetConfig);

export const DEFAULT_DB = 'sqlite:minerhaul-fleet.db';
export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const ADMIN_TOKEN_ENV = 'MINERHAUL_FLEET_ADMIN_TOKEN';

export function loadFleetConfig(path: string): FleetConfig {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MinerhaulError('E_CONFIG', `cannot read fleet config ${path}`, { cause: err });
  }
  return checkFleetConfig(value);
}

export function checkFleetConfig(value: unknown): FleetConfig {
  if (!validate(value)) {
    const issues = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
    throw new MinerhaulError('E_CONFIG', `invalid fleet config: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  return value as FleetConfig;
}

/** `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT`; the host defaults to loopback. */
export function parseListen(addr: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(addr);
  const port = Number(m?.[2]);
  if (m === null || !(port >= 0 && port <= 65535)) {
    throw new MinerhaulError('E_CONFIG', `invalid listen address '${addr}': use HOST:PORT`);
  }
  const host = m[1] === undefined || m[1] === '' ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

function readAllowList(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MinerhaulError('E_CONFIG', `cannot read allow-list ${path}`, { cause: err });
  }
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l.length > 0);
}

/**
 * Resolves the admin token: the env var, else the config's token file, else a random one that
 * the caller prints once (a first-run convenience; see docs/fleet-admin-guide.md).
 */
export function resolveAdminToken(
  config: FleetConfig,
  env: NodeJS.ProcessEnv,
): { token: string; generated: boolean } {
  const fromEnv = env[ADMIN_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv.length > 0) return checkToken(fromEnv);
  if (config.adminTokenFile !== undefined) {
    try {
      return checkToken(readFileSync(config.adminTokenFile, 'utf8').trim());
    } catch (err) {
      if (err instanceof MinerhaulError) throw err;
      throw new MinerhaulError('E_CONFIG', `cannot read admin token file ${config.adminTokenFile}`, {
        cause: err,
      });
    }
  }
  return { token: randomBytes(24).toString('base64url'), generated: true };
}

function checkToken(token: string): { token: string; generated: false } {
  if (token.length < 16)
    throw new MinerhaulError('E_CONFIG', 'the admin token must be at least 16 characters');
  return { token, generated: false };
}

/** Merges the config with the defaults into server options (without store and token). */
export function serverOptionsFromConfig(
  config: FleetConfig,
): Omit<FleetServerOptions, 'store' | 'adminToken'> {
  const keys = [
    ...(config.allowedKeys ?? []),
    ...(config.allowListFile ? readAllowList(config.allowListFile) : []),
  ];
  for (const k of keys) {
    try {
      publicKeyFromBase64(k);
    } catch (err) {
      throw new MinerhaulError(
        'E_CONFIG',
        `allow-list entry '${k.slice(0, 60)}' is not a base64 raw ed25519 key`,
        {
          cause: err,
        },
      );
    }
  }
  const d = DEFAULT_SERVER_OPTIONS;
  return {
    reportIntervalSeconds: config.reportIntervalSeconds ?? d.reportIntervalSeconds,
    bucketSeconds: config.bucketSeconds ?? d.bucketSeconds,
    seriesPoints: config.seriesPoints ?? d.seriesPoints,
    retentionDays: config.retentionDays ?? d.retentionDays,
    maxReportBytes: config.maxReportBytes ?? d.maxReportBytes,
    maxReportAgeSeconds: config.maxReportAgeSeconds ?? d.maxReportAgeSeconds,
    maxClockSkewSeconds: config.maxClockSkewSeconds ?? d.maxClockSkewSeconds,
    listLimit: d.listLimit,
    batch: { ...d.batch },
    ...(config.allowedKeys !== undefined || config.allowListFile !== undefined ? { allowedKeys: keys } : {}),
  };
}
