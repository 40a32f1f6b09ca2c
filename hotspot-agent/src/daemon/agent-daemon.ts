import { join } from 'node:path';
import { MINERHAUL_VERSION, isInRollout, loadPublicKey, type PublicKey } from '@minerhaul/signing';
import { CONFIG_DEFAULTS, effectiveSource, type AgentConfig } from '../config/agent-config';
import { configBase, readAgentConfigFile, resolveConfigPaths } from '../config/load-config';
import type { AgentEngine, EngineEventView, EngineFactory } from '../engine/agent-engine';
import { phaseAfter, phaseFromEngine } from '../engine/phase-map';
import { MinerhaulError, isMinerhaulError } from '../errors';
import { loadOrCreateDeviceIdentity, type DeviceIdentity } from '../identity/device-identity';
import { UpdateLock } from '../lock/update-lock';
import { buildReport } from '../report/report-builder';
import { ReportQueue } from '../report/report-queue';
import { ReportSender, type PostFn } from '../report/report-sender';
import { signReportBody } from '../report/report-signer';
import { systemClock, type Clock } from '../schedule/clock';
import type { CronTrigger } from '../schedule/cron-trigger';
import { CycleScheduler } from '../schedule/cycle-scheduler';
import type { AgentStatus, CycleSummary, HistoryEntry } from '../state/agent-status';
import { StatusStore, agentDir } from '../state/status-store';
import { atomicWriteFile } from '../util/atomic-write';
import type { AgentLogger } from './agent-logger';
import { silentLogger } from './agent-logger';
import { SerialQueue } from './serial-queue';

export interface AgentDaemonOptions {
  configPath: string;
  /** Builds the update engine; the CLI passes the updater-backed one, tests a fake. */
  engineFactory: EngineFactory;
  log?: AgentLogger;
  clock?: Clock;
  /** node-cron by default (loaded only by `agent run`). */
  cronTrigger?: CronTrigger;
  post?: PostFn;
  random?: () => number;
  agentVersion?: string;
}

export type { CycleSummary } from '../state/agent-status';

/** The running parts that a config change rebuilds. */
interface Wiring {
  raw: AgentConfig;
  config: AgentConfig;
  engine: AgentEngine;
  lock: UpdateLock | undefined;
  sender: ReportSender | undefined;
  ownerKeys: PublicKey[];
}

/** Backoff starts at one minute after a failed cycle (then 2, 4, 8 … up to schedule.maxBackoffSeconds). */
const BACKOFF_BASE_SECONDS = 60;

/**
 * The composition root of the agent: reads the config, creates the device identity, wires the engine,
 * the schedule, the update lock, reports and (only when configured) the local API. Everything it
 * talks to is passed in or built here; nothing is a module singleton.
 */
export class AgentDaemon {
  private readonly queue = new SerialQueue();
  private readonly log: AgentLogger;
  private readonly clock: Clock;
  private scheduler: CycleScheduler | undefined;
  private stopHeartbeat: (() => void) | undefined;
  private api: { address: string; close(): Promise<void> } | undefined;
  private running = false;
  /** Aborted by stop(): cycles of the daemon run under it. */
  private lifetime = new AbortController();
  private lastSummary: CycleSummary | undefined;

  private constructor(
    private readonly options: AgentDaemonOptions,
    private readonly identity: DeviceIdentity,
    private readonly store: StatusStore,
    private wiring: Wiring,
    private status: AgentStatus,
  ) {
    this.log = options.log ?? silentLogger;
    this.clock = options.clock ?? systemClock;
  }

  static async open(options: AgentDaemonOptions): Promise<AgentDaemon> {
    const raw = await readAgentConfigFile(options.configPath);
    const config = resolveConfigPaths(raw, configBase(options.configPath));
    const identity = await loadOrCreateDeviceIdentity(
      config.deviceKey ?? join(config.stateDir, 'device.key'),
    );
    const store = new StatusStore(config.stateDir);
    const saved = await store.readStatus();
    const clock = options.clock ?? systemClock;
    const status: AgentStatus = {
      deviceId: identity.deviceId,
      agentVersion: options.agentVersion ?? MINERHAUL_VERSION,
      updatedAt: new Date(clock.now()).toISOString(),
      source: sourceView(config),
      phase: 'idle',
      rollbackCount: saved?.rollbackCount ?? 0,
      consecutiveFailures: 0,
      reportSequence: saved?.reportSequence ?? 0,
      reportsQueued: 0,
      ...(saved?.current ? { current: saved.current } : {}),
      ...(saved?.previous ? { previous: saved.previous } : {}),
      ...(saved?.lastCheck ? { lastCheck: saved.lastCheck } : {}),
      ...(saved?.lastOutcome ? { lastOutcome: saved.lastOutcome } : {}),
      ...(saved?.lastErrorCode ? { lastErrorCode: saved.lastErrorCode } : {}),
      ...(saved?.lastError ? { lastError: saved.lastError } : {}),
    };
    // The daemon exists before its wiring so the engine hooks can reach it.
    const holder: { daemon?: AgentDaemon } = {};
    const wiring = await buildWiring(options, raw, config, clock, identity.deviceId, holder);
    const daemon = new AgentDaemon(options, identity, store, wiring, status);
    holder.daemon = daemon;
    return daemon;
  }

  get deviceId(): string {
    return this.identity.deviceId;
  }

  get config(): AgentConfig {
    return this.wiring.config;
  }

  get ownerKeys(): readonly PublicKey[] {
    return this.wiring.ownerKeys;
  }

  /** Address the local API listens on, when it runs. */
  get apiAddress(): string | undefined {
    return this.api?.address;
  }

  snapshot(): AgentStatus {
    return structuredClone(this.status);
  }

  history(): Promise<HistoryEntry[]> {
    return this.store.readHistory();
  }

  /** One check-and-update cycle (recovery first); never two at once, nor during a config change. */
  async checkOnce(signal?: AbortSignal): Promise<CycleSummary> {
    return this.queue.run(() => this.cycle(signal ?? this.lifetime.signal));
  }

  /** `agent run`: recovery, the schedule, heartbeat reports and, when configured, the local API. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.status.pid = process.pid;
    this.status.startedAt = new Date(this.clock.now()).toISOString();
    this.lifetime = new AbortController();
    try {
      await this.queue.run(() => this.wiring.engine.start(this.lifetime.signal));
    } catch (err) {
      // Every check recovers first too: a failed recovery is retried by the schedule instead of
      // crash-looping the daemon.
      this.log.error(
        { code: isMinerhaulError(err) ? err.code : 'internal', err: (err as Error).message },
        'recovery failed',
      );
    }
    this.startScheduler();
    this.startHeartbeat();
    const listen = this.wiring.config.api?.listen;
    if (listen !== undefined) {
      const { startLocalApi } = require('../api/local-api') as typeof import('../api/local-api');
      this.api = await startLocalApi(this, listen, this.log, this.clock);
      this.log.info({ address: this.api.address }, 'local API listening');
    }
    await this.persist();
    // The first check comes after a jitter too: a fleet powering up together must not poll at once.
    this.scheduler?.scheduleJittered();
    this.log.info({ deviceId: this.deviceId, source: this.status.source }, 'agent started');
  }

  async stop(): Promise<void> {
    this.running = false;
    this.scheduler?.stop();
    this.scheduler = undefined;
    this.stopHeartbeat?.();
    this.stopHeartbeat = undefined;
    await this.api?.close();
    this.api = undefined;
    // Abort a cycle in progress at its next step (the journal finishes or undoes it at the next
    // start) and wait for it; the miner keeps running either way.
    this.lifetime.abort(new Error('agent stopping'));
    await this.queue.run(async () => undefined);
    delete this.status.pid;
    delete this.status.nextCheck;
    await this.persist();
  }

  /**
   * Runs a check for the API through the scheduler's single flight. A cycle already running may have
   * resolved the tag before the caller's news: wait for it, then run a fresh one (callers arriving
   * meanwhile share that one).
   */
  async requestCheck(): Promise<CycleSummary> {
    if (this.scheduler === undefined) return this.checkOnce();
    if (this.scheduler.busy) await this.scheduler.runNow();
    await this.scheduler.runNow();
    return this.lastSummary ?? { outcome: 'failed', error: 'no cycle ran' };
  }

  /** The config as the file holds it (paths not yet resolved): what PUT /v1/config patches. */
  get rawConfig(): AgentConfig {
    return this.wiring.raw;
  }

  /**
   * Applies a new config (already validated and, where needed, owner-authorised by the caller):
   * builds the new engine first, so a change that cannot work is refused and the old one keeps running,
   * then writes the config file atomically and switches.
   */
  async applyConfig(nextRaw: AgentConfig): Promise<void> {
    await this.queue.run(async () => {
      const config = resolveConfigPaths(nextRaw, configBase(this.options.configPath));
      const wiring = await buildWiring(this.options, nextRaw, config, this.clock, this.deviceId, {
        daemon: this,
      });
      await saveConfigFile(this.options.configPath, nextRaw);
      this.wiring = wiring;
      this.status.source = sourceView(config);
      if (this.running) {
        // The change is made: a failing recovery is logged and retried by the next check.
        await wiring.engine.start(this.lifetime.signal).catch((err: unknown) => {
          this.log.error({ err: (err as Error).message }, 'recovery after the config change failed');
        });
        this.scheduler?.stop();
        this.startScheduler();
        this.stopHeartbeat?.();
        this.startHeartbeat();
      }
      await this.persist();
      this.log.info({ source: this.status.source }, 'config changed');
    });
    if (this.running) this.scheduler?.scheduleJittered();
  }

  /** Sends the current status to the fleet now (heartbeat); never throws. */
  async report(): Promise<void> {
    const sender = this.wiring.sender;
    if (sender === undefined) return;
    try {
      this.status.reportSequence += 1;
      const report = buildReport(this.status, this.status.reportSequence, new Date(this.clock.now()));
      await this.persist();
      const result = await sender.send(signReportBody(this.identity, JSON.stringify(report)));
      this.status.reportsQueued = result.pending;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not queue a report');
    }
    await this.persist().catch(() => undefined);
  }

  /** Engine hook: staged rollout by a stable hash of device id and digest (signing's isInRollout). */
  admit(statement: { digest: string; rollout?: number }): boolean {
    const inside = isInRollout(this.deviceId, statement.digest, statement.rollout);
    if (!inside)
      this.log.info({ digest: statement.digest, rollout: statement.rollout }, 'not in this rollout');
    return inside;
  }

  /** Engine hook: defers the swap while the miner holds a lock that is not stale. */
  async beforeSwap(): Promise<boolean> {
    const lock = this.wiring.lock;
    if (lock === undefined) return true;
    const verdict = await lock.inspect();
    if (verdict.state === 'held') {
      this.log.info(
        { since: new Date(verdict.since).toISOString() },
        'miner holds its update lock; update deferred',
      );
      return false;
    }
    if (verdict.state === 'stale') this.log.warn({ reason: verdict.reason }, 'ignoring a stale update lock');
    lock.reset();
    return true;
  }

  onEngineEvent(event: EngineEventView): void {
    if (event.type === 'progress') this.log.debug(event, 'progress');
    else this.log.info(event, `engine ${event.type}`);
    if (event.type === 'phase' && typeof event.phase === 'string')
      this.status.phase = phaseFromEngine(event.phase);
  }

  private async cycle(signal?: AbortSignal): Promise<CycleSummary> {
    const { engine } = this.wiring;
    this.status.phase = 'checking';
    let summary: CycleSummary;
    try {
      const result = await engine.check(signal);
      summary = { outcome: result.outcome, ...(result.release ? { release: result.release } : {}) };
    } catch (err) {
      if (signal?.aborted) {
        // Stopped (shutdown, upgrade): not a failed update. The journal finishes or undoes the step at
        // the next start, so nothing is recorded or reported as an error.
        this.status.phase = 'idle';
        this.log.info(
          { err: err instanceof Error ? err.message : String(err) },
          'update cycle interrupted by stop',
        );
        throw err;
      }
      const code = isMinerhaulError(err) ? err.code : undefined;
      summary = {
        outcome: code === 'E_HEALTH' ? 'rolled-back' : 'failed',
        error: err instanceof Error ? err.message : String(err),
        ...(code ? { errorCode: code } : {}),
      };
      this.log.error({ code: code ?? 'internal', err: summary.error }, 'update cycle failed');
    }
    this.lastSummary = summary;
    this.record(summary, engine);
    if (summary.outcome !== 'up-to-date') {
      await this.store
        .appendHistory({ at: this.status.lastCheck ?? new Date(this.clock.now()).toISOString(), ...summary })
        .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not write history'));
    }
    await this.persist();
    await this.report();
    return summary;
  }

  private record(summary: CycleSummary, engine: AgentEngine): void {
    const s = this.status;
    const e = engine.status();
    if (e.current) s.current = e.current;
    if (e.previous) s.previous = e.previous;
    s.rollbackCount = Math.max(s.rollbackCount, e.rollbackCount);
    s.lastCheck = new Date(this.clock.now()).toISOString();
    s.lastOutcome = summary.outcome;
    s.phase = phaseAfter(summary.outcome);
    if (summary.outcome === 'failed' || summary.outcome === 'rolled-back') {
      s.consecutiveFailures += summary.outcome === 'failed' ? 1 : 0;
      if (summary.errorCode) s.lastErrorCode = summary.errorCode;
      else delete s.lastErrorCode;
      if (summary.error) s.lastError = summary.error;
    } else {
      s.consecutiveFailures = 0;
      delete s.lastErrorCode;
      delete s.lastError;
    }
  }

  private startScheduler(): void {
    const schedule = this.wiring.config.schedule ?? {};
    const cronTrigger =
      this.options.cronTrigger ??
      (require('../schedule/cron-trigger') as typeof import('../schedule/cron-trigger')).nodeCronTrigger;
    this.scheduler = new CycleScheduler({
      cron: schedule.cron ?? CONFIG_DEFAULTS.cron,
      jitterSeconds: schedule.jitterSeconds ?? CONFIG_DEFAULTS.jitterSeconds,
      backoffBaseSeconds: BACKOFF_BASE_SECONDS,
      maxBackoffSeconds: schedule.maxBackoffSeconds ?? CONFIG_DEFAULTS.maxBackoffSeconds,
      clock: this.clock,
      cronTrigger,
      ...(this.options.random ? { random: this.options.random } : {}),
      runCycle: async () => {
        const summary = await this.checkOnce();
        return summary.outcome === 'failed' ? 'failed' : 'ok';
      },
      onNextCheck: (at) => {
        if (at === undefined) delete this.status.nextCheck;
        else this.status.nextCheck = new Date(at).toISOString();
      },
    });
    this.scheduler.start();
  }

  private startHeartbeat(): void {
    const fleet = this.wiring.config.fleet;
    if (fleet === undefined) return;
    const interval = (fleet.heartbeatSeconds ?? CONFIG_DEFAULTS.heartbeatSeconds) * 1000;
    let cancel: () => void = () => undefined;
    // A report still in flight when the heartbeat is stopped must not arm the next beat.
    let stopped = false;
    const beat = (): void => {
      if (stopped) return;
      cancel = this.clock.setTimer(() => {
        void this.report().finally(beat);
      }, interval);
    };
    beat();
    this.stopHeartbeat = () => {
      stopped = true;
      cancel();
    };
  }

  private async persist(): Promise<void> {
    this.status.updatedAt = new Date(this.clock.now()).toISOString();
    await this.store.writeStatus(this.status);
  }
}

function sourceView(config: AgentConfig): AgentStatus['source'] {
  const { kind, source } = effectiveSource(config);
  return { kind, ref: source.ref };
}

async function buildWiring(
  options: AgentDaemonOptions,
  raw: AgentConfig,
  config: AgentConfig,
  clock: Clock,
  deviceId: string,
  // The engine hooks run only inside cycles, after open() has set `holder.daemon`.
  holder: { daemon?: AgentDaemon },
): Promise<Wiring> {
  const ownerKeys = (config.api?.ownerKeys ?? []).map((k) => loadPublicKey(k));
  const engine = await options.engineFactory(config, effectiveSource(config), {
    deviceId,
    admit: (statement) => (holder.daemon ?? fail()).admit(statement),
    beforeSwap: () => (holder.daemon ?? fail()).beforeSwap(),
    onEvent: (event) => holder.daemon?.onEngineEvent(event),
  });
  const lockConfig = config.lock;
  const lock =
    lockConfig?.path === undefined
      ? undefined
      : new UpdateLock({
          path: lockConfig.path,
          maxDeferMs: (lockConfig.maxDeferSeconds ?? CONFIG_DEFAULTS.maxDeferSeconds) * 1000,
          now: () => clock.now(),
        });
  const sender =
    config.fleet === undefined
      ? undefined
      : new ReportSender(
          config.fleet.url,
          new ReportQueue(
            join(agentDir(config.stateDir), 'reports'),
            config.fleet.queueLimit ?? CONFIG_DEFAULTS.queueLimit,
          ),
          options.log ?? silentLogger,
          options.post,
        );
  return { raw, config, engine, lock, sender, ownerKeys };
}

function fail(): never {
  throw new Error('agent engine hook called before the daemon was ready');
}

/** Saves an accepted config change; a file that cannot be written is the owner's setup, not a bug. */
async function saveConfigFile(path: string, config: AgentConfig): Promise<void> {
  try {
    await atomicWriteFile(path, JSON.stringify(config, null, 2) + '\n');
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC') {
      throw new MinerhaulError('E_NO_SPACE', `no space left to save ${path}; nothing was changed`, {
        cause: err,
      });
    }
    if (errno === 'EROFS' || errno === 'EACCES' || errno === 'EPERM') {
      throw new MinerhaulError(
        'E_CONFIG',
        `cannot save ${path} (${errno}): mount or make it writable to change settings through the API; nothing was changed`,
        { cause: err, details: { httpStatus: 409 } },
      );
    }
    throw err;
  }
}
