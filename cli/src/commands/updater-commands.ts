import type { Command } from 'commander';
import { MinerhaulError } from '@minerhaul/signing';
import type { OpenStoreOptions } from '@minerhaul/registry-tools';
import type { CliContext } from '../cli-context';
import type { ActionRunner } from '../main';
import { readAllStdin } from '../passphrase';

type RegistryTools = typeof import('@minerhaul/registry-tools');
type Signing = typeof import('@minerhaul/signing');
type Updater = typeof import('@minerhaul/updater');

/** Loaded inside the action so `minerhaul --help` and the agent do not pay for the unpacker. */
const tools = (): RegistryTools => require('@minerhaul/registry-tools') as RegistryTools;
const signing = (): Signing => require('@minerhaul/signing') as Signing;
const updater = (): Updater => require('@minerhaul/updater') as Updater;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export interface UnpackCommandOptions {
  key: string[];
  threshold: string;
  channel?: string;
  identity?: string;
  platform?: string;
  insecureSkipVerify?: boolean;
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  caCert?: string;
  pinnedCert?: string;
}

/** unpack (DESIGN.md "Commands"): verify and unpack with the agent's own verifier and unpacker. */
export function registerUpdaterCommands(program: Command, run: ActionRunner): void {
  program
    .command('unpack')
    .description("verify an image's signatures and unpack its layers into DIR with the agent's safe unpacker")
    .argument('<ref>', 'image reference')
    .argument('<dir>', 'new or empty directory to unpack into')
    .option('--platform <p>', 'platform to unpack, e.g. linux/arm64 (default: this machine)')
    .option('--key <file>', 'trusted public key file or base64 line (repeatable; required)', collect, [])
    .option('--threshold <k>', 'distinct trusted keys that must have signed', '1')
    .option('--channel <c>', 'channel the statement must name (default: the tag of REF)')
    .option('--identity <repo>', 'repository the statement must name (for mirrors and copies)')
    .option('--insecure-skip-verify', 'unpack WITHOUT checking signatures (never what a hotspot does)')
    .option('--username <user>', 'registry user name (password from --password-stdin)')
    .option('--password-stdin', 'read the registry password from stdin')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry')
    .option('--ca-cert <file>', 'extra CA certificate (PEM) to trust')
    .option('--pinned-cert <file>', 'the exact certificate (PEM) the registry must present')
    .action(
      run(async (ctx, refText: string, dir: string, opts: UnpackCommandOptions) => {
        const r = await unpackCommand(ctx, refText, dir, opts);
        ctx.result(r.human, r.json);
      }),
    );
}

/** The action body, exported for tests; logic lives in updater's unpackRelease. */
export async function unpackCommand(
  ctx: CliContext,
  refText: string,
  dir: string,
  opts: UnpackCommandOptions,
): Promise<{ human: string; json: unknown }> {
  const t = tools();
  const u = updater();
  const ref = t.parseReference(refText);
  // A maintainer runs this to see what a hotspot would run, and a hotspot never skips verification:
  // keys are required unless skipping is asked for by name (docs/decisions/0403).
  if (opts.key.length === 0 && !opts.insecureSkipVerify) {
    throw new MinerhaulError(
      'E_CONFIG',
      'give the trusted keys with --key (or --insecure-skip-verify to skip checks)',
    );
  }
  if (opts.key.length > 0 && opts.insecureSkipVerify) {
    throw new MinerhaulError('E_CONFIG', '--key and --insecure-skip-verify contradict each other');
  }
  let verifier: ReturnType<Updater['statementVerifier']> | undefined;
  if (!opts.insecureSkipVerify) {
    const channel = opts.channel ?? ref.tag;
    if (channel === undefined) {
      throw new MinerhaulError('E_CONFIG', 'the reference has no tag: give the channel with --channel');
    }
    const threshold = Number(opts.threshold);
    if (!/^\d+$/.test(opts.threshold) || threshold < 1) {
      throw new MinerhaulError('E_CONFIG', `--threshold must be a positive integer, got ${opts.threshold}`);
    }
    verifier = u.statementVerifier({
      trustedKeys: opts.key.map((k) => signing().loadPublicKey(k)),
      threshold,
      channel,
      ...(opts.identity !== undefined ? { identity: opts.identity } : {}),
    });
  }
  const storeOptions: OpenStoreOptions = {
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.caCert !== undefined ? { caCert: opts.caCert } : {}),
    ...(opts.pinnedCert !== undefined ? { pinnedCert: opts.pinnedCert } : {}),
  };
  if (Boolean(opts.passwordStdin) !== (opts.username !== undefined)) {
    throw new MinerhaulError(
      'E_CONFIG',
      '--username and --password-stdin go together (passwords never on argv)',
    );
  }
  if (opts.username !== undefined) {
    storeOptions.credentials = {
      username: opts.username,
      password: (await readAllStdin(ctx)).replace(/\r?\n$/, ''),
    };
  }
  const store = t.openStore(ref, storeOptions);
  const result = await u.unpackRelease(store, {
    reference: t.referenceTarget(ref),
    destDir: dir,
    verifier,
    ...(opts.platform !== undefined ? { platform: opts.platform } : {}),
  });
  const s = result.statement;
  const human = [
    s ? `verified ${result.digest}: version ${s.version} channel ${s.channel} sequence ${s.sequence}` : '',
    s ? '' : `NOT VERIFIED (--insecure-skip-verify): ${result.digest}`,
    `unpacked ${result.manifestDigest} (${result.layers.length} layers) into ${result.destDir}`,
  ]
    .filter((line) => line !== '')
    .join('\n');
  return {
    human,
    json: {
      verified: s !== undefined,
      digest: result.digest,
      manifestDigest: result.manifestDigest,
      ...(s ? { statement: s } : {}),
      destDir: result.destDir,
      layers: result.layers.map((l) => ({
        digest: l.digest,
        diffId: l.diffId,
        bytesWritten: l.bytesWritten,
      })),
    },
  };
}
