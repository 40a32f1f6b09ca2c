import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { MinerhaulError } from '@minerhaul/signing';
import type { ActionRunner } from '../main';
import { readPassphrase } from '../passphrase';

// Repeatable options start undefined, so that requiredOption still notices a missing --key.
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** key generate, sign-blob, verify-blob (DESIGN.md "Commands"); the logic lives in @minerhaul/signing. */
export function registerSigningCommands(program: Command, run: ActionRunner): void {
  const key = program.command('key').description('manage signify key pairs');

  key
    .command('generate')
    .description('create a new signify key pair')
    .requiredOption('--public <file>', 'public key file to create')
    .requiredOption('--secret <file>', 'secret key file to create (mode 0600)')
    .option('--no-passphrase', 'store the secret key unencrypted (signify -n)')
    .option('--comment <text>', 'comment base: "<text> public key" / "<text> secret key"', 'minerhaul')
    .action(
      run(async (ctx, opts: { public: string; secret: string; passphrase: boolean; comment: string }) => {
        const signing = loadSigning();
        const passphrase = opts.passphrase ? await readPassphrase(ctx, 'passphrase: ', true) : undefined;
        const pair = signing.generateKeyPair({ comment: opts.comment, passphrase });
        signing.writeKeyPairFiles({ publicKey: opts.public, secretKey: opts.secret }, pair);
        ctx.result(`key ${pair.keyNumberHex}: public ${opts.public}, secret ${opts.secret}`, {
          keyNumber: pair.keyNumberHex,
          publicKey: opts.public,
          secretKey: opts.secret,
          encrypted: passphrase !== undefined,
        });
      }),
    );

  program
    .command('sign-blob')
    .description('sign any file (signify format)')
    .argument('<file>', 'file to sign')
    .requiredOption('--key <file>', 'secret key file')
    .option('--output <sig>', 'signature file to write (default: FILE.sig)')
    .action(
      run(async (ctx, file: string, opts: { key: string; output?: string }) => {
        const signing = loadSigning();
        const keyText = signing.readKeyFile(opts.key);
        const passphrase = signing.secretKeyNeedsPassphrase(keyText)
          ? await readPassphrase(ctx, 'passphrase: ')
          : undefined;
        const secretKey = signing.decryptSecretKey(keyText, passphrase);
        const message = signing.readMessageFile(file);
        const output = opts.output ?? `${file}.sig`;
        writeFileSync(output, signing.signMessage(secretKey, message, signatureComment(opts.key)));
        ctx.result(`signed ${file} with key ${secretKey.keyNumberHex}: ${output}`, {
          file,
          signature: output,
          keyNumber: secretKey.keyNumberHex,
        });
      }),
    );

  program
    .command('verify-blob')
    .description('check the signify signatures of a file against trusted keys (k of n)')
    .argument('<file>', 'signed file')
    .requiredOption('--key <file>', 'trusted public key file or base64 line (repeatable)', collect)
    .option('--threshold <k>', 'distinct trusted keys that must have signed', '1')
    .option('--signature <sig>', 'signature file (repeatable; default: FILE.sig)', collect)
    .action(
      run(async (ctx, file: string, opts: { key: string[]; threshold: string; signature?: string[] }) => {
        const signing = loadSigning();
        const threshold = parseThreshold(opts.threshold);
        const keys = opts.key.map((k) => signing.loadPublicKey(k));
        const sigPaths = opts.signature ?? [`${file}.sig`];
        const signatures = sigPaths.map((p) => signing.readSignatureFile(p));
        const message = signing.readMessageFile(file);
        const { validKeyNumbers } = signing.verifyThreshold(keys, message, signatures, threshold);
        ctx.result(
          `verified ${file}: signed by ${validKeyNumbers.length} trusted key(s) (${validKeyNumbers.join(', ')}), threshold ${threshold}`,
          { file, verified: true, threshold, validKeyNumbers, signatures: sigPaths },
        );
      }),
    );
}

// Loaded on first use so `minerhaul --help` stays light.
function loadSigning(): typeof import('@minerhaul/signing') {
  return require('@minerhaul/signing') as typeof import('@minerhaul/signing');
}

/** signify's comment: "verify with <name>.pub" for a key file named <name>.sec (§4.4). */
function signatureComment(secretKeyPath: string): string | undefined {
  const name = basename(secretKeyPath);
  return name.endsWith('.sec') && name.length > 4 ? `verify with ${name.slice(0, -4)}.pub` : undefined;
}

function parseThreshold(text: string): number {
  if (!/^[1-9][0-9]{0,5}$/.test(text)) {
    throw new MinerhaulError(
      'E_CONFIG',
      `--threshold must be a positive integer (got ${JSON.stringify(text)})`,
    );
  }
  return Number(text);
}
