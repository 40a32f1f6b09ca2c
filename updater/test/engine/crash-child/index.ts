import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CreateUpdateEngineInput, EngineStatus } from '@minerhaul/updater';

export interface ChildRun {
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  result?: { ok: boolean; code?: string; status: EngineStatus };
  stderr: string;
}

/** Runs the engine in a child process (bounded by `timeoutMs`), optionally crashing at a journal step. */
export function runEngineChild(
  action: 'check' | 'start',
  input: CreateUpdateEngineInput,
  crashAt?: string,
  timeoutMs = 60_000,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        join(__dirname, 'ts-register.js'),
        join(__dirname, 'engine-child.ts'),
        action,
        JSON.stringify(input),
      ],
      {
        env: { ...process.env, ...(crashAt ? { MINERHAUL_CRASH_AT: crashAt } : { MINERHAUL_CRASH_AT: '' }) },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: timeoutMs,
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.trim().split('\n').pop();
      let result: ChildRun['result'];
      try {
        result = line ? (JSON.parse(line) as ChildRun['result']) : undefined;
      } catch {
        result = undefined;
      }
      resolve({ code, signal, stderr, ...(result ? { result } : {}) });
    });
  });
}
