import { spawn } from 'node:child_process';
import { MinerhaulError, type ErrorCode, ERROR_CODES } from '@minerhaul/signing';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Runs a program to its end, bounded in time; never rejects on a non-zero exit (the caller reads
 * `code`). A timeout or an abort kills it and reports code null.
 */
export function runCommand(
  command: string,
  args: string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => resolve({ code: null, stdout, stderr: stderr + String(err.message) }));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The error a `minerhaul --json …` run printed on stderr (`{"error":{"code","message"}}`), as a
 * MinerhaulError with the same code; E_RUNTIME when it printed none (killed, crashed).
 */
export function cliFailure(what: string, result: CommandResult): MinerhaulError {
  for (const line of result.stderr.split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as { error?: { code?: string; message?: string } };
      const code = parsed.error?.code;
      if (code !== undefined && (ERROR_CODES as readonly string[]).includes(code)) {
        return new MinerhaulError(code as ErrorCode, `${what}: ${parsed.error?.message ?? 'failed'}`);
      }
    } catch {
      // not a JSON line
    }
  }
  const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
  return new MinerhaulError(
    'E_RUNTIME',
    `${what}: exited ${result.code === null ? 'by a signal or timeout' : `with status ${result.code}`}` +
      (tail ? `:\n${tail}` : ''),
  );
}

/** The last JSON object line of a program's stdout (what `--json` prints). */
export function lastJsonLine<T>(stdout: string): T | undefined {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line) as T;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
