import { spawn } from 'node:child_process';
import { MinerhaulError } from '@minerhaul/signing';
import type { HealthDeps } from './health-spec';
import { retryUntilDeadline } from './retry-until-deadline';

const MAX_ATTEMPT_MS = 10_000;
const OUTPUT_CAP = 4096;

/**
 * `exec`: `command` (argv, no shell) exits 0 on the host before `timeoutSeconds`, retried. It runs on the
 * host, not in the sandbox, so it works the same for both runtimes (docs/decisions/0353).
 */
export async function checkExec(
  command: string[],
  timeoutSeconds: number,
  deps: HealthDeps = {},
): Promise<void> {
  if (command.length === 0 || command[0] === '')
    throw new MinerhaulError('E_CONFIG', 'health command is empty');
  const failure = await retryUntilDeadline(
    { timeoutSeconds, maxAttemptMs: MAX_ATTEMPT_MS },
    deps,
    async (capMs) => {
      const result = await runOnce(command, capMs, deps.signal);
      return result.code === 0 ? undefined : `exit ${result.code ?? result.signal}: ${result.output.trim()}`;
    },
  );
  if (failure === undefined) return;
  const { attempts, last } = failure;
  throw new MinerhaulError(
    'E_HEALTH',
    `health command ${command[0]} failed after ${attempts} attempts (${last})`,
    {
      details: { command, attempts, last },
    },
  );
}

function runOnce(
  command: string[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      signal,
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < OUTPUT_CAP) output += chunk.toString('utf8').slice(0, OUTPUT_CAP - output.length);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        reject(new MinerhaulError('E_CONFIG', `health command ${command[0]} cannot run: ${err.code}`));
      } else if (err.name === 'AbortError') {
        reject(signal?.reason ?? err);
      } else {
        resolve({ code: null, signal: null, output: err.message });
      }
    });
    child.on('close', (code, sig) => resolve({ code, signal: sig, output }));
  });
}
