import type { ImageStore } from '@minerhaul/registry-tools';
import { type ErrorCode, MINERHAUL_VERSION, MinerhaulError, isMinerhaulError } from '@minerhaul/signing';
import { checkAgentVersion } from './agent-version';
import type { CheckResult, EngineEvent } from './engine-events';
import { Journal, type JournalRecord } from './journal';
import { type EngineStep, planCheck, planRecovery, planRollback, planUpdate } from './planner';
import type {
  EngineRuntime,
  HealthCheck,
  ManifestSelector,
  PlatformManifest,
  ReleaseStager,
  ReleaseVerifier,
  VerifiedStatement,
} from './ports';
import {
  type EnginePhase,
  type EngineStatus,
  type ReleaseRecord,
  type StagedRelease,
  summarize,
} from './release-record';

export interface UpdateEngineOptions {
  stateDir: string;
  /** Where releases come from, and the tag (or digest) followed there. */
  store: ImageStore;
  reference: string;
  /** The channel statements must name (DESIGN.md: the tag, unless `source.channel` says otherwise). */
  channel: string;
  /** The repository statements must name: `trust.identity`, else the store's own. */
  identity?: string;
  verifier: ReleaseVerifier;
  selector: ManifestSelector;
  stager: ReleaseStager;
  runtime: EngineRuntime;
  health: HealthCheck;
  agentVersion?: string;
  /** Staged rollout: called after verification, before any layer is fetched; false = not this device. */
  admit?: (statement: VerifiedStatement) => boolean;
  /** Called right before the swap; false defers the update (the miner holds its update lock). */
  beforeSwap?: () => Promise<boolean>;
  now?: () => Date;
  onEvent?: (event: EngineEvent) => void;
  /** Test hook for crash-recovery tests (MINERHAUL_CRASH_AT): SIGKILL right after journalling this step. */
  crashAt?: string;
}

/** Per-run lookups: releases by manifest digest, and what `stage` prepared for the swap. */
interface RunContext {
  staged: Map<string, StagedRelease>;
  manifest?: PlatformManifest;
  prepared: Map<string, unknown>;
  signal: AbortSignal | undefined;
}

/**
 * The update lifecycle of DESIGN.md as a journalled state machine: planner.ts decides the steps,
 * this class performs them, journalling each one before it takes effect.
 */
export class UpdateEngine {
  private readonly journal: Journal;
  private readonly now: () => Date;
  private phase: EnginePhase = 'idle';
  private started: Promise<void> | undefined;
  private inFlight: Promise<CheckResult> | undefined;

  constructor(private readonly options: UpdateEngineOptions) {
    this.journal = new Journal(options.stateDir, { crashAt: options.crashAt });
    this.now = options.now ?? (() => new Date());
  }

  /** Loads the journal and recovers from whatever a crash left half-done. Idempotent. */
  start(signal?: AbortSignal): Promise<void> {
    this.started ??= this.recover(signal).catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  /** One check-and-update cycle; concurrent calls share the cycle in flight (never two at once). */
  check(signal?: AbortSignal): Promise<CheckResult> {
    this.inFlight ??= this.runCheck(signal).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  status(): EngineStatus {
    const r = this.journal.snapshot();
    return {
      phase: this.phase,
      ...(r.current ? { current: summarize(r.current) } : {}),
      ...(r.previous ? { previous: summarize(r.previous) } : {}),
      ...(r.lastCheck ? { lastCheck: r.lastCheck } : {}),
      ...(r.lastErrorCode ? { lastErrorCode: r.lastErrorCode } : {}),
      ...(r.lastError ? { lastError: r.lastError } : {}),
      rollbackCount: r.rollbackCount,
      ...(r.rejected
        ? { rejected: { digest: r.rejected.digest, version: r.rejected.version, reason: r.rejected.reason } }
        : {}),
    };
  }

  private async recover(signal: AbortSignal | undefined): Promise<void> {
    const record = await this.journal.load();
    const steps = planRecovery(record);
    if (steps.length === 0) return;
    this.setPhase('recover');
    const ctx: RunContext = { staged: new Map(), prepared: new Map(), signal };
    const step = record.step;
    if (step?.name === 'swap' || step?.name === 'health' || step?.name === 'commit') {
      ctx.staged.set(step.target.manifestDigest, step.target);
    }
    if (step?.name === 'rollback') ctx.staged.set(step.failed.manifestDigest, step.failed);
    try {
      await this.execute(steps, ctx);
      if (record.step) this.emit({ type: 'recovered', step: record.step.name });
    } finally {
      this.setPhase('idle');
    }
  }

  private async runCheck(signal: AbortSignal | undefined): Promise<CheckResult> {
    await this.start(signal);
    if (this.journal.snapshot().step !== undefined) {
      // A previous cycle in this process stopped half-way (abort, failed rollback): finish it first.
      this.started = undefined;
      await this.start(signal);
    }
    try {
      const { result, keepError } = await this.update(signal);
      await this.journal.update((r) => {
        r.lastCheck = this.now().toISOString();
        if (!keepError) {
          delete r.lastErrorCode;
          delete r.lastError;
        }
      });
      return result;
    } catch (err) {
      await this.recordFailure(err);
      throw err;
    } finally {
      this.setPhase('idle');
    }
  }

  private async update(
    signal: AbortSignal | undefined,
  ): Promise<{ result: CheckResult; keepError: boolean }> {
    const o = this.options;
    const { current, rejected } = this.journal.snapshot();
    this.setPhase('resolve');
    const resolved = await o.store.resolve(o.reference, signal);
    const decision = planCheck(current, resolved?.digest, rejected?.digest);
    if (decision === 'not-found' || resolved === undefined) {
      throw new MinerhaulError('E_NOT_FOUND', `${o.store.location}: ${o.reference} not found`);
    }
    const stay: CheckResult = { outcome: 'up-to-date', ...(current ? { release: summarize(current) } : {}) };
    // A rejected release keeps its error visible in status until the tag moves on.
    if (decision === 'unchanged' || decision === 'rejected') {
      return { result: stay, keepError: decision === 'rejected' };
    }
    return { result: await this.install(resolved.digest, current, signal), keepError: false };
  }

  /** Lifecycle steps 2-7 for a digest that is neither installed nor rejected. */
  private async install(
    digest: string,
    current: StagedRelease | undefined,
    signal: AbortSignal | undefined,
  ): Promise<CheckResult> {
    const o = this.options;
    this.setPhase('verify', digest);
    await this.journal.begin({ name: 'verify', digest });
    // Anti-rollback compares sequences of one repository and channel only: an owner who switches
    // source (HIP3) starts that source's own sequence.
    const sameStream =
      current !== undefined &&
      current.repository === (o.identity ?? o.store.repository) &&
      current.channel === o.channel;
    const statement = await o.verifier.verify({
      store: o.store,
      digest,
      ...(sameStream ? { installedSequence: current.sequence, installedDigest: current.digest } : {}),
      now: this.now(),
      ...(signal ? { signal } : {}),
    });
    checkAgentVersion(statement.minAgentVersion, o.agentVersion ?? MINERHAUL_VERSION);
    if (o.admit !== undefined && !o.admit(statement)) {
      await this.journal.update((r) => delete r.step);
      return { outcome: 'not-in-rollout', ...(current ? { release: summarize(current) } : {}) };
    }
    const manifest = await o.selector.select(o.store, digest, signal);
    const target: ReleaseRecord = {
      digest,
      manifestDigest: manifest.manifestDigest,
      version: statement.version,
      sequence: statement.sequence,
      repository: statement.repository,
      channel: statement.channel,
    };
    this.emit({ type: 'verified', release: summarize(target) });
    const blobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
    const held = o.stager.usesBlobStore ? await o.stager.held(blobs) : new Set<string>();
    const steps = planUpdate({
      ...(current ? { current } : {}),
      target,
      blobs,
      held,
      usesBlobStore: o.stager.usesBlobStore,
    });
    const ctx: RunContext = { staged: new Map(), prepared: new Map(), manifest, signal };
    const outcome = await this.execute(steps, ctx);
    const after = this.journal.snapshot().current;
    return { outcome: outcome ?? 'updated', ...(after ? { release: summarize(after) } : {}) };
  }

  /**
   * Performs `steps` in order. Failure policy (docs/decisions/0401): before the swap, the staged
   * release is discarded and the running miner is untouched; from the swap on, the plan turns to
   * planRollback; a failed rollback leaves its journal step for the next start to redo.
   */
  private async execute(steps: EngineStep[], ctx: RunContext): Promise<'deferred' | 'adopted' | undefined> {
    for (const step of steps) {
      try {
        const result = await this.perform(step, ctx);
        if (result === 'deferred') return 'deferred';
        if (step.kind === 'adopt') return 'adopted';
      } catch (err) {
        throw await this.onStepFailure(step, ctx, err);
      }
    }
    return undefined;
  }

  private async perform(step: EngineStep, ctx: RunContext): Promise<'deferred' | undefined> {
    const o = this.options;
    const signal = ctx.signal;
    switch (step.kind) {
      case 'adopt': {
        const current = this.journal.snapshot().current;
        if (current === undefined) throw new Error('adopt without an installed release');
        const adopted: StagedRelease = { ...current, ...step.target };
        this.setPhase('commit', adopted.digest);
        await this.journal.begin({ name: 'commit', target: adopted });
        await this.journal.update((r) => {
          r.current = adopted;
          delete r.step;
        });
        this.emit({ type: 'adopted', release: summarize(adopted) });
        return undefined;
      }
      case 'stage': {
        signal?.throwIfAborted();
        this.setPhase('stage', step.target.digest);
        await this.journal.begin({ name: 'stage', target: step.target });
        if (ctx.manifest === undefined) throw new Error('stage without a manifest');
        const staged = await o.stager.stage({
          store: o.store,
          target: step.target,
          manifest: ctx.manifest,
          ...(signal ? { signal } : {}),
          onProgress: (e) => this.emit({ type: 'progress', ...e }),
        });
        ctx.staged.set(staged.manifestDigest, staged);
        ctx.prepared.set(staged.manifestDigest, await o.runtime.prepare(staged, signal));
        return undefined;
      }
      case 'swap': {
        signal?.throwIfAborted();
        const target = this.lookup(step.target, ctx);
        if (o.beforeSwap !== undefined && !(await o.beforeSwap())) {
          await this.discard(target.manifestDigest, ctx);
          await this.journal.update((r) => delete r.step);
          return 'deferred';
        }
        this.setPhase('swap', target.digest);
        await this.journal.begin({ name: 'swap', target });
        const prepared = ctx.prepared.get(target.manifestDigest) ?? (await o.runtime.prepare(target, signal));
        await o.runtime.activate(prepared, signal);
        return undefined;
      }
      case 'health': {
        const target = this.lookup(step.target, ctx);
        this.setPhase('health', target.digest);
        await this.journal.begin({ name: 'health', target });
        await o.health(target, signal);
        return undefined;
      }
      case 'commit': {
        const target = this.lookup(step.target, ctx);
        this.setPhase('commit', target.digest);
        await this.journal.begin({ name: 'commit', target });
        await o.runtime.commit(target);
        const before = this.journal.snapshot().current;
        await this.journal.update((r) => {
          if (r.current !== undefined && r.current.manifestDigest !== target.manifestDigest) {
            r.previous = r.current;
          }
          r.current = target;
          if (r.rejected?.manifestDigest !== target.manifestDigest) delete r.rejected;
          delete r.step;
        });
        this.emit({
          type: 'updated',
          ...(before ? { from: summarize(before) } : {}),
          to: summarize(target),
        });
        return undefined;
      }
      case 'gc': {
        this.setPhase('gc');
        const keep = step.keep.map((d) => this.lookup(d, ctx));
        await this.journal.begin({ name: 'gc' });
        try {
          await o.stager.gc(keep);
        } catch (err) {
          // Leftover files cost space, never correctness: the next gc retries.
          this.emit({
            type: 'warning',
            ...codeOf(err),
            message: `garbage collection failed: ${messageOf(err)}`,
          });
        }
        return undefined;
      }
      case 'rollback': {
        const to = this.lookup(step.to, ctx);
        const failed = this.lookup(step.failed, ctx);
        this.setPhase('rollback', to.digest);
        const already = this.journal.snapshot().step;
        const counted =
          already?.name === 'rollback' && already.failed.manifestDigest === failed.manifestDigest;
        await this.journal.begin(
          { name: 'rollback', failed, reason: step.reason, reject: step.reject },
          (r) => {
            if (!counted) r.rollbackCount += 1;
            if (step.reject) {
              r.rejected = {
                digest: failed.digest,
                manifestDigest: failed.manifestDigest,
                version: failed.version,
                reason: step.reason,
                at: this.now().toISOString(),
              };
            }
          },
        );
        // No signal: once started, returning to the verified release must not be cut short.
        if (o.runtime.rollback) await o.runtime.rollback(to, failed);
        else await o.runtime.ensureRunning(to);
        this.emit({ type: 'rolled-back', from: summarize(failed), to: summarize(to), reason: step.reason });
        return undefined;
      }
      case 'ensure-running': {
        const release = this.lookup(step.target, ctx);
        const running = await o.runtime.current?.().catch(() => undefined);
        // An adopted digest (0400): the same manifest already runs under its former digest; asking
        // the runtime to "ensure" the new digest would swap the miner for identical content.
        if (
          running?.running &&
          running.manifestDigest === release.manifestDigest &&
          running.digest !== release.digest
        ) {
          return undefined;
        }
        await o.runtime.ensureRunning(release, signal);
        return undefined;
      }
      case 'discard':
        await this.discard(step.target, ctx);
        return undefined;
      case 'settle':
        if (this.journal.snapshot().step !== undefined) await this.journal.update((r) => delete r.step);
        return undefined;
    }
  }

  /** Cleans up after a failed step and returns the error to report. */
  private async onStepFailure(step: EngineStep, ctx: RunContext, err: unknown): Promise<unknown> {
    const record = this.journal.snapshot();
    if (step.kind === 'stage') {
      await this.discard(step.target.manifestDigest, ctx).catch(() => undefined);
      await this.journal.update((r) => delete r.step);
      return err;
    }
    const failedTarget =
      step.kind === 'swap' || step.kind === 'health' || step.kind === 'ensure-running'
        ? step.target
        : undefined;
    if (failedTarget === undefined || failedTarget === record.current?.manifestDigest) return err;
    const failed = this.lookup(failedTarget, ctx);
    const reason: ErrorCode = step.kind === 'health' ? 'E_HEALTH' : (codeOf(err).code ?? 'E_RUNTIME');
    // Turn the plan back toward the previous verified release (STYLE.md: rollback is planning back).
    await this.execute(planRollback(record.current, failed, reason), ctx);
    if (isMinerhaulError(err)) return err;
    return new MinerhaulError(reason, `release ${failed.version} failed (${messageOf(err)}); rolled back`, {
      cause: err,
    });
  }

  private async discard(manifestDigest: string, ctx: RunContext): Promise<void> {
    const r = this.journal.snapshot();
    if (r.current?.manifestDigest === manifestDigest || r.previous?.manifestDigest === manifestDigest) return;
    const release = ctx.staged.get(manifestDigest);
    if (release !== undefined) await this.options.runtime.discard?.(release);
    await this.options.stager.discard(manifestDigest);
  }

  private lookup(manifestDigest: string, ctx: RunContext): StagedRelease {
    const r: JournalRecord = this.journal.snapshot();
    const found =
      ctx.staged.get(manifestDigest) ??
      [r.current, r.previous].find((x) => x?.manifestDigest === manifestDigest);
    if (found === undefined) throw new Error(`engine: no staged release ${manifestDigest}`);
    return found;
  }

  private async recordFailure(err: unknown): Promise<void> {
    await this.journal
      .update((r) => {
        if (r.step?.name === 'verify') delete r.step;
        r.lastCheck = this.now().toISOString();
        const code = codeOf(err).code;
        if (code !== undefined) r.lastErrorCode = code;
        else delete r.lastErrorCode;
        r.lastError = messageOf(err);
      })
      .catch(() => undefined);
  }

  private setPhase(phase: EnginePhase, digest?: string): void {
    this.phase = phase;
    this.emit({ type: 'phase', phase, ...(digest ? { digest } : {}) });
  }

  private emit(event: EngineEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A logging callback must never break an update.
    }
  }
}

function codeOf(err: unknown): { code?: ErrorCode } {
  return isMinerhaulError(err) ? { code: err.code } : {};
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
