import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptSecretKey, generateKeyPair, type SecretKey } from '@minerhaul/signing';
import type {
  AgentConfig,
  AgentEngine,
  EngineCheckResult,
  EngineFactory,
  EngineHooks,
  EngineStatusView,
  ReleaseSummary,
} from '@minerhaul/hotspot-agent';

export interface OwnerKeys {
  publicKey: string;
  secret: SecretKey;
  /** The public key's base64 line, as config files may carry it. */
  line: string;
}

export function makeOwnerKey(comment = 'owner'): OwnerKeys {
  const pair = generateKeyPair({ comment });
  const line = pair.publicKey.split('\n')[1] ?? '';
  return { publicKey: pair.publicKey, secret: decryptSecretKey(pair.secretKey), line };
}

export function release(version: string, sequence: number): ReleaseSummary {
  const hex = Buffer.from(version).toString('hex').padEnd(64, '0').slice(0, 64);
  return { digest: `sha256:${hex}`, manifestDigest: `sha256:${hex}`, version, sequence };
}

/**
 * An engine double: each check pops the next scripted step (a result or an error). Records the hooks
 * and the configs it was built with, so tests see what the agent asked for.
 */
export class ScriptedEngine implements AgentEngine {
  readonly steps: (EngineCheckResult | Error | ((hooks: EngineHooks) => Promise<EngineCheckResult>))[] = [];
  current: ReleaseSummary | undefined;
  previous: ReleaseSummary | undefined;
  rollbackCount = 0;
  checks = 0;
  started = 0;

  constructor(readonly hooks: EngineHooks) {}

  async start(): Promise<void> {
    this.started += 1;
  }

  async check(): Promise<EngineCheckResult> {
    this.checks += 1;
    const step = this.steps.shift() ?? { outcome: 'up-to-date' };
    if (step instanceof Error) throw step;
    const result = typeof step === 'function' ? await step(this.hooks) : step;
    if (result.outcome === 'updated' && result.release) {
      this.previous = this.current;
      this.current = result.release;
    }
    return result;
  }

  status(): EngineStatusView {
    return {
      phase: 'idle',
      rollbackCount: this.rollbackCount,
      ...(this.current ? { current: this.current } : {}),
      ...(this.previous ? { previous: this.previous } : {}),
    };
  }
}

/** A factory that hands out ScriptedEngines and remembers every (config, source) it saw. */
export function scriptedFactory(): {
  factory: EngineFactory;
  engines: ScriptedEngine[];
  sources: string[];
} {
  const engines: ScriptedEngine[] = [];
  const sources: string[] = [];
  const factory: EngineFactory = async (_config, source, hooks) => {
    sources.push(`${source.kind}:${source.source.ref}`);
    const engine = new ScriptedEngine(hooks);
    const last = engines.at(-1);
    if (last) {
      engine.current = last.current;
      engine.previous = last.previous;
    }
    engines.push(engine);
    return engine;
  };
  return { factory, engines, sources };
}

export function baseConfig(dir: string, extra: Partial<AgentConfig> = {}): AgentConfig {
  const trustKey = makeOwnerKey('maintainer');
  return {
    stateDir: join(dir, 'state'),
    defaultSource: { ref: '127.0.0.1:5000/vendor/miner:stable' },
    trust: { keys: [trustKey.line] },
    runtime: { kind: 'bubblewrap', dataDir: join(dir, 'data') },
    ...extra,
  };
}

export function writeConfig(dir: string, config: AgentConfig): string {
  const path = join(dir, 'agent.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}
