import { join } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import type { RegistryMode } from './demo-options';
import { REPO_ROOT } from './demo-paths';
import { type EnvironmentPlan, type EnvironmentProbe, planEnvironment } from './environment-plan';
import { findProgram, probeEnvironment } from './environment-probe';
import { runCommand } from './run-command';

export interface EnvironmentResult {
  plan: EnvironmentPlan;
  probe: EnvironmentProbe;
  /** What was run to fill the gaps, as typed (apt-get, npm ci, tsc -b). */
  actions: string[];
}

export interface EnvironmentSetupOptions {
  install: boolean;
  registry: RegistryMode;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Told about each action before it runs (installs take a while). */
  onAction?: (text: string) => void;
}

const INSTALL_TIMEOUT_MS = 15 * 60_000;

/**
 * Checks the machine and installs what the demo needs that is missing (npm packages, builds,
 * Debian's bubblewrap and docker-registry), then checks again: what is still missing after that
 * either falls back (the registry) or stops the demo with its code.
 */
export async function prepareEnvironment(options: EnvironmentSetupOptions): Promise<EnvironmentResult> {
  const actions: string[] = [];
  const act = async (shown: string, command: string, args: string[], env = options.env): Promise<boolean> => {
    actions.push(shown);
    options.onAction?.(shown);
    const r = await runCommand(command, args, {
      env,
      cwd: REPO_ROOT,
      timeoutMs: INSTALL_TIMEOUT_MS,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return r.code === 0;
  };

  const first = planEnvironment(probeEnvironment(options.env), options);
  if (first.npmInstall) {
    await act('npm ci', findProgram('npm', options.env.PATH) ?? 'npm', ['ci', '--no-audit', '--no-fund']);
  }
  if (first.build || first.npmInstall) {
    await act('tsc -b', process.execPath, [
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-b',
    ]);
  }
  if (first.aptPackages.length > 0) {
    const aptEnv = { ...options.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = ['install', '-y', '-qq', '--no-install-recommends', ...first.aptPackages];
    const shown = `apt-get install ${first.aptPackages.join(' ')}`;
    // The package lists may be missing (a fresh container) or stale: update once, then retry.
    if (!(await act(shown, 'apt-get', install, aptEnv))) {
      await act('apt-get update', 'apt-get', ['update', '-qq'], aptEnv);
      await act(shown, 'apt-get', install, aptEnv);
    }
    if (first.aptPackages.includes('docker-registry')) {
      // Debian's package starts a registry on :5000 where systemd runs; the demo starts its own.
      await runCommand('systemctl', ['disable', '--now', 'docker-registry'], {
        env: options.env,
        timeoutMs: 30_000,
      });
    }
  }

  const probe = probeEnvironment(options.env);
  const plan = planEnvironment(probe, { ...options, installAttempted: true });
  const blocker = plan.blockers[0];
  if (blocker !== undefined) {
    throw new MinerhaulError(blocker.code, plan.blockers.map((b) => b.message).join('; '), {
      details: { blockers: plan.blockers, actions },
    });
  }
  return { plan, probe, actions };
}
