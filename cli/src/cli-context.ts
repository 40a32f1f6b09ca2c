import { MinerhaulError } from '@minerhaul/signing';

/** What every command needs from the outside world; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdoutIsTty: boolean;
}

export interface CliContext extends CliIo {
  json: boolean;
  /** Prints a result: the JSON value with --json, the human text otherwise. */
  result(human: string, json: unknown): void;
}

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    stdin: process.stdin,
    stdoutIsTty: Boolean(process.stdout.isTTY),
  };
}

export function makeContext(io: CliIo, json: boolean): CliContext {
  return {
    ...io,
    json,
    result(human, value) {
      if (json) io.stdout(JSON.stringify(value) + '\n');
      else if (human.length > 0) io.stdout(human.endsWith('\n') ? human : human + '\n');
    },
  };
}

/** Exit statuses: 1 for an expected failure with a code, 2 for bad usage, 70 for a bug. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

export function reportError(io: CliIo, json: boolean, err: unknown): number {
  if (err instanceof MinerhaulError) {
    if (json) {
      io.stderr(
        JSON.stringify({
          error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
        }) + '\n',
      );
    } else {
      io.stderr(`error[${err.code}]: ${err.message}\n`);
    }
    return err.code === 'E_CONFIG' ? EXIT_USAGE : EXIT_FAILURE;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  if (json) io.stderr(JSON.stringify({ error: { code: 'E_INTERNAL', message } }) + '\n');
  else io.stderr(`internal error (a bug in minerhaul, please report it):\n${message}\n`);
  return EXIT_INTERNAL;
}
