import { REPO_PROGRAMS } from './demo-paths';
import { cliFailure, lastJsonLine, runCommand } from './run-command';

export interface MinerhaulRun<T> {
  /** The command as a user types it (shown in the step log). */
  shown: string;
  result: T;
}

export interface MinerhaulCliOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Runs the real `minerhaul` command (cli/bin/minerhaul.js, a separate process) with --json and
 * returns what it printed: the demo publishes exactly as a maintainer does. A failure becomes a
 * MinerhaulError with the command's own code.
 */
export async function runMinerhaul<T>(
  args: string[],
  options: MinerhaulCliOptions,
): Promise<MinerhaulRun<T>> {
  return runNodeProgram<T>(REPO_PROGRAMS.cli, args, `minerhaul ${shellLine(args)}`, options, ['--json']);
}

/** Same for images/sample-miner/build.js (which runs `minerhaul build`). */
export async function runMinerBuild<T>(
  args: string[],
  options: MinerhaulCliOptions,
): Promise<MinerhaulRun<T>> {
  return runNodeProgram<T>(
    REPO_PROGRAMS.minerBuild,
    [...args, '--json'],
    `node images/sample-miner/build.js ${shellLine(args)}`,
    options,
    [],
  );
}

async function runNodeProgram<T>(
  script: string,
  args: string[],
  shown: string,
  options: MinerhaulCliOptions,
  leading: string[],
): Promise<MinerhaulRun<T>> {
  const result = await runCommand(process.execPath, [script, ...leading, ...args], {
    env: options.env,
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (result.code !== 0) throw cliFailure(shown, result);
  const parsed = lastJsonLine<T>(result.stdout);
  if (parsed === undefined) throw cliFailure(`${shown} (no JSON result)`, { ...result, code: result.code });
  return { shown, result: parsed };
}

/** Arguments as a POSIX shell line (quoted where needed), for the step log. */
export function shellLine(args: string[]): string {
  return args
    .map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
