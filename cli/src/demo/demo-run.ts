import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MinerhaulError } from '@minerhaul/signing';
import { waitFor } from './bounded-wait';
import type { DemoOptions } from './demo-options';
import { type DemoLayout, demoLayout } from './demo-paths';
import type { DemoReport } from './demo-report';
import { runDemoSteps } from './demo-scenario';
import { findDemoProcesses, listProcesses } from './leftover-processes';
import type { MinerhaulCliOptions } from './minerhaul-cli';
import { ServiceProcesses } from './service-processes';
import { StepRunner } from './step-runner';
import { Teardown, installSignalHandlers } from './teardown';

export type { DemoReport } from './demo-report';

export interface DemoIo {
  /** Human output; absent with --json. */
  print?: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Variables of the caller that must not leak into the demo's programs. */
const PRIVATE_VARIABLES = ['MINERHAUL_PASSPHRASE', 'MINERHAUL_FLEET_ADMIN_TOKEN', 'MINER_PORT', 'MINER_DATA'];

function workingDirectory(options: DemoOptions): { dir: string; owned: boolean } {
  if (options.dir === undefined) return { dir: mkdtempSync(`${tmpdir()}/minerhaul-demo-`), owned: true };
  // Leftovers of an earlier run (an agent's state, a fleet database) would change the outcomes.
  if (existsSync(options.dir) && readdirSync(options.dir).length > 0) {
    throw new MinerhaulError('E_CONFIG', `--dir ${options.dir} is not empty: give a new or empty directory`);
  }
  mkdirSync(options.dir, { recursive: true });
  return { dir: options.dir, owned: false };
}

/**
 * The README's main command: a maintainer builds, signs and publishes the sample miner; a hotspot
 * agent (real daemon, bubblewrap) takes v1 and v2, refuses a badly signed v3, rolls back an
 * unhealthy v4; the fleet server shows the result. Every outcome is asserted; everything started is
 * stopped at the end, on Ctrl-C, or on SIGTERM (with --keep only at Ctrl-C / SIGTERM).
 */
export async function runDemo(options: DemoOptions, io: DemoIo): Promise<DemoReport> {
  const { dir, owned } = workingDirectory(options);
  const layout = demoLayout(dir);
  const runner = new StepRunner(io.print ? { print: io.print } : {});
  const processes = new ServiceProcesses(layout.logs);
  const teardown = new Teardown();
  const abort = new AbortController();
  let stopKeeping: (() => void) | undefined;
  const removeHandlers = installSignalHandlers(teardown, (signal) => {
    if (abort.signal.aborted) {
      // A second Ctrl-C: no more waiting for graceful stops.
      runner.say(`${signal} again: killing everything the demo started`);
      teardown.runSync();
      process.exit(130);
    }
    runner.say(`\n${signal}: stopping everything the demo started (Ctrl-C again to kill at once)…`);
    abort.abort(new MinerhaulError('E_RUNTIME', `interrupted by ${signal}`));
    stopKeeping?.();
  });

  const baseEnv: NodeJS.ProcessEnv = { ...io.env };
  for (const name of PRIVATE_VARIABLES) delete baseEnv[name];
  // A throwaway passphrase for the demo's keys: they are encrypted as a maintainer's would be.
  const cli: MinerhaulCliOptions = {
    env: { ...baseEnv, MINERHAUL_PASSPHRASE: randomBytes(12).toString('base64url') },
    signal: abort.signal,
  };
  const report: DemoReport = {
    ok: false,
    dir,
    dirKept: !owned,
    steps: runner.results,
    skipped: runner.skipped,
  };
  runner.say(`minerhaul demo: working in ${dir}`);
  // Runs last (teardown goes backwards): whatever service an earlier undo missed.
  teardown.add(
    'services',
    () => processes.stopAll(),
    () => processes.killAllSync(),
  );

  try {
    await runDemoSteps({ options, layout, runner, processes, teardown, cli, baseEnv, report, abort });
    if (options.keep && runner.failed === undefined && !abort.signal.aborted) {
      await keepRunning(runner, report, layout, (stop) => (stopKeeping = stop));
    }
  } finally {
    await runner.step('teardown', 'everything stopped', () => stopEverything(teardown, processes, dir), {
      always: true,
    });
    removeHandlers();
  }
  report.ok = runner.failed === undefined;
  // A failed run keeps its directory: the services' logs are in it.
  if (owned && report.ok) rmSync(dir, { recursive: true, force: true });
  else report.dirKept = true;
  if (report.dirKept) runner.say(`working directory kept: ${dir} (logs in ${layout.logs})`);
  const passed = runner.results.filter((r) => r.ok).length;
  runner.say(
    report.ok
      ? `\ndemo passed: ${passed} steps, every outcome as expected`
      : `\ndemo FAILED at '${runner.failed?.title}' (${passed} of ${runner.results.length} steps passed` +
          `${runner.skipped.length ? `, ${runner.skipped.length} not run` : ''})`,
  );
  return report;
}

/**
 * Runs the teardown, then checks that nothing of the demo is left: no process naming its directory,
 * nor any descendant of one (bounded wait, the miner takes a moment to exit).
 */
async function stopEverything(
  teardown: Teardown,
  processes: ServiceProcesses,
  dir: string,
): Promise<{ detail: string }> {
  const failures = await teardown.run();
  const remaining = (): ReturnType<typeof findDemoProcesses> =>
    findDemoProcesses(listProcesses(), dir, process.pid);
  const left = await waitFor(async () => (remaining().length === 0 ? [] : undefined), {
    what: 'the demo processes to exit',
    timeoutMs: 15_000,
    intervalMs: 200,
  }).catch(remaining);
  if (left.length > 0 || failures.length > 0) {
    const still = left.map((p) => `${p.pid} ${p.cmdline}`).join('; ') || 'none';
    const stuck = failures.map((f) => `${f.name} (${f.error})`).join(', ');
    throw new MinerhaulError(
      'E_RUNTIME',
      `still running: ${still}${stuck ? `; failed to stop: ${stuck}` : ''}`,
      {
        details: { left, failures },
      },
    );
  }
  return { detail: `${processes.list().length} service(s) and the miner stopped; no process left` };
}

/** --keep: everything stays up until Ctrl-C or SIGTERM. */
async function keepRunning(
  runner: StepRunner,
  report: DemoReport,
  layout: DemoLayout,
  onStop: (stop: () => void) => void,
): Promise<void> {
  runner.say(
    [
      '',
      `Everything keeps running (--keep). Dashboard: ${report.dashboard?.url ?? '?'}/ ` +
        `(admin token in ${layout.adminTokenFile}).`,
      `Look at the hotspot: node cli/bin/minerhaul.js agent status --config ${layout.agentConfig}`,
      'Press Ctrl-C to stop everything.',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => onStop(resolve));
}
