import { MinerhaulError } from '@minerhaul/signing';
import type { CliIo } from './cli-context';

/**
 * Secrets never travel on argv: the passphrase comes from MINERHAUL_PASSPHRASE or, on a TTY,
 * from a prompt with echo off.
 */
export async function readPassphrase(io: CliIo, prompt: string, confirm = false): Promise<string> {
  const fromEnv = io.env.MINERHAUL_PASSPHRASE;
  if (fromEnv !== undefined) return fromEnv;
  if (!io.stdin.isTTY) {
    throw new MinerhaulError(
      'E_KEY',
      'a passphrase is needed: set MINERHAUL_PASSPHRASE or run on a terminal',
    );
  }
  const first = await promptHidden(prompt);
  if (confirm) {
    const second = await promptHidden('confirm passphrase: ');
    if (first !== second) throw new MinerhaulError('E_KEY', 'passphrases do not match');
  }
  return first;
}

async function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.resume();
  let value = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new MinerhaulError('E_KEY', 'interrupted'));
            return;
          }
          if (ch === '\u007f') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

/** Reads all of stdin as text, for --password-stdin. */
export async function readAllStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
