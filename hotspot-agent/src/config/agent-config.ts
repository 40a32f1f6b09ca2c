/** A registry, OCI layout or static-layout source (DESIGN.md "References"). */
export interface SourceConfig {
  ref: string;
  caCert?: string;
  pinnedCert?: string;
  insecure?: boolean;
  channel?: string;
}

export interface TrustConfig {
  /** signify public key files, or their base64 lines. */
  keys: string[];
  threshold?: number;
  identity?: string;
}

export interface RuntimeConfig {
  kind: 'bubblewrap' | 'docker';
  mode?: 'slim' | 'full';
  dataDir?: string;
  user?: string;
  socketPath?: string;
  containerName?: string;
  env?: Record<string, string>;
  [extra: string]: unknown;
}

export interface HealthConfig {
  kind: 'http' | 'exec' | 'running' | 'docker';
  url?: string;
  command?: string[];
  timeoutSeconds?: number;
  stableSeconds?: number;
}

export interface ScheduleConfig {
  cron?: string;
  jitterSeconds?: number;
  maxBackoffSeconds?: number;
}

export interface FleetConfig {
  url: string;
  heartbeatSeconds?: number;
  queueLimit?: number;
}

export interface ApiConfig {
  listen?: string;
  ownerKeys?: string[];
}

export interface LockConfig {
  path?: string;
  maxDeferSeconds?: number;
}

/** The agent's config file, as validated by schema/config.schema.json (the same name for type and schema). */
export interface AgentConfig {
  deviceKey?: string;
  stateDir: string;
  source?: SourceConfig;
  defaultSource?: SourceConfig;
  trust: TrustConfig;
  runtime: RuntimeConfig;
  health?: HealthConfig;
  schedule?: ScheduleConfig;
  fleet?: FleetConfig;
  api?: ApiConfig;
  lock?: LockConfig;
}

/** Defaults for what the config leaves out (docs/decisions/0501-agent-config-defaults.md). */
export const CONFIG_DEFAULTS = {
  cron: '*/15 * * * *',
  jitterSeconds: 300,
  maxBackoffSeconds: 6 * 3600,
  heartbeatSeconds: 3600,
  queueLimit: 500,
  maxDeferSeconds: 3600,
  threshold: 1,
} as const;

/** Which source a cycle uses: the owner's when set, else the vendor's default (HIP3). */
export interface EffectiveSource {
  kind: 'default' | 'custom';
  source: SourceConfig;
}

export function effectiveSource(config: AgentConfig): EffectiveSource {
  if (config.source !== undefined) return { kind: 'custom', source: config.source };
  if (config.defaultSource !== undefined) return { kind: 'default', source: config.defaultSource };
  // validateAgentConfig refuses such a config; this guards hand-built objects.
  throw new Error('config has neither source nor defaultSource');
}
