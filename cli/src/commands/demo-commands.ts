import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import * as signing from '@minerhaul/signing';
import { MinerhaulError, isMinerhaulError } from '@minerhaul/signing';
import type { CliContext } from '../cli-context';
import type { ActionRunner } from '../main';

/**
 * `minerhaul demo`: the README's main job. For now the signing round trip
 * (key generate → sign-blob → verify-blob, then a tampered copy refused).
 */
export function registerDemoCommands(program: Command, run: ActionRunner): void {
  program
    .command('demo')
    .description('end-to-end demonstration on embedded defaults')
    .option('--keep', 'keep the demo directory')
    .action(run(async (ctx, opts: { keep?: boolean }) => signingRoundTrip(ctx, Boolean(opts.keep))));
}

async function signingRoundTrip(ctx: CliContext, keep: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'minerhaul-demo-'));
  const steps: Array<{ step: string; ok: boolean; detail: string }> = [];
  const say = (step: string, ok: boolean, detail: string): void => {
    steps.push({ step, ok, detail });
    if (!ctx.json) ctx.stdout(`${ok ? '✔' : '✘'} ${step}: ${detail}\n`);
  };
  try {
    const pair = signing.generateKeyPair({ comment: 'demo' });
    const files = { publicKey: join(dir, 'demo.pub'), secretKey: join(dir, 'demo.sec') };
    signing.writeKeyPairFiles(files, pair);
    say('key generate', true, `key ${pair.keyNumberHex} in ${dir}`);

    const message = join(dir, 'miner-release.txt');
    writeFileSync(message, 'sample miner v1\n');
    const secret = signing.decryptSecretKey(readFileSync(files.secretKey));
    writeFileSync(`${message}.sig`, signing.signMessage(secret, readFileSync(message)));
    say('sign-blob', true, `${message}.sig`);

    const publicKey = signing.loadPublicKey(files.publicKey);
    signing.verifyMessage(publicKey, readFileSync(message), readFileSync(`${message}.sig`, 'utf8'));
    say('verify-blob', true, 'signature good');

    writeFileSync(message, 'sample miner v1 (tampered)\n');
    try {
      signing.verifyMessage(publicKey, readFileSync(message), readFileSync(`${message}.sig`, 'utf8'));
      say('tampered file refused', false, 'a tampered file verified');
    } catch (err) {
      if (!isMinerhaulError(err, 'E_SIGNATURE')) throw err;
      say('tampered file refused', true, `error[${err.code}]`);
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  ctx.result('', { steps });
  const failed = steps.find((s) => !s.ok);
  if (failed) throw new MinerhaulError('E_SIGNATURE', `demo step failed: ${failed.step}`);
}
