import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MinerhaulError, type PublicKey, type SecretKey } from '@minerhaul/signing';
import type {
  ImageReference,
  ImageStore,
  OpenStoreOptions,
  TransferProgress,
} from '@minerhaul/registry-tools';
import type { CliContext } from '../cli-context';
import type { ActionRunner } from '../main';
import { readAllStdin, readPassphrase } from '../passphrase';

type RegistryTools = typeof import('@minerhaul/registry-tools');
type Signing = typeof import('@minerhaul/signing');

/** Loaded inside actions so that `minerhaul --help` and the agent do not pay for it. */
const tools = (): RegistryTools => require('@minerhaul/registry-tools') as RegistryTools;
const signing = (): Signing => require('@minerhaul/signing') as Signing;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface RegistryOptions {
  username?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
  caCert?: string;
  pinnedCert?: string;
}

interface SignOptions extends RegistryOptions {
  key: string;
  identity?: string;
  channel?: string;
  sequence?: string;
  expires?: string;
  rollout?: string;
  minAgentVersion?: string;
}

/** Options every command with a registry reference takes; passwords only ever come from stdin. */
function withRegistryOptions(cmd: Command): Command {
  return cmd
    .option('--username <user>', 'registry user name (password from --password-stdin)')
    .option('--password-stdin', 'read the registry password from stdin')
    .option('--insecure', 'allow plain HTTP to a non-loopback registry (TLS is still verified when used)')
    .option('--ca-cert <file>', 'extra CA certificate (PEM) to trust')
    .option('--pinned-cert <file>', 'the exact certificate (PEM) the registry must present');
}

function withSignOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--key <file>', 'signify secret key file')
    .option('--sequence <n>', 'release sequence (default: one more than the highest signed for the channel)')
    .option('--expires <dur>', 'expiry: a duration (90d, 12h, 2w) or an RFC 3339 date-time')
    .option('--rollout <pct>', 'staged rollout percentage, 0-100')
    .option('--min-agent-version <v>', 'oldest agent version (semver) that may take this release')
    .option(
      '--identity <repo>',
      'repository the statement names (default: that of REF; set it for oci-layout:)',
    );
}

/** build, push, copy, sign, verify, promote, inspect (DESIGN.md "Commands"). */
export function registerRegistryCommands(program: Command, run: ActionRunner): void {
  withRegistryOptions(
    program
      .command('build')
      .description(
        'build a slim multi-arch miner image from directories (reproducible under SOURCE_DATE_EPOCH)',
      ),
  )
    .option('--platform <os/arch=dir>', 'platform and its directory (repeatable; at least one)', collect, [])
    .option('--common <dir>', 'files identical on every platform, stored once as a shared layer')
    .requiredOption('--version <v>', 'version of the miner (org.opencontainers.image.version)')
    .option('--prefix <path>', 'where the files go in the image', '/opt/miner')
    .option('--entrypoint <path>', 'program to run (absolute, or relative to the prefix)', 'bin/miner')
    .option('--compression <c>', 'gzip or zstd', 'gzip')
    .option('--source <url>', 'source code URL (org.opencontainers.image.source)')
    .option('--revision <rev>', 'source revision (org.opencontainers.image.revision)')
    .requiredOption('--output <ref>', 'where to write the image, e.g. oci-layout:DIR:TAG')
    .action(
      run(
        async (
          ctx,
          opts: RegistryOptions & {
            platform: string[];
            common?: string;
            version: string;
            prefix: string;
            entrypoint: string;
            compression: string;
            source?: string;
            revision?: string;
            output: string;
          },
        ) => {
          const t = tools();
          const { ref, store } = await openReference(ctx, opts.output, opts);
          if (ref.digest !== undefined)
            throw new MinerhaulError('E_CONFIG', '--output must name a tag, not a digest');
          const epoch = t.sourceDateEpochFromEnv(ctx.env);
          const result = await t.buildImage(
            {
              platforms: opts.platform.map((p) => t.parsePlatformSource(p)),
              ...(opts.common !== undefined ? { common: opts.common } : {}),
              version: opts.version,
              prefix: opts.prefix,
              entrypoint: opts.entrypoint,
              compression: t.parseCompression(opts.compression),
              ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
              ...(opts.source !== undefined ? { source: opts.source } : {}),
              ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
              ...(ref.tag !== undefined ? { tag: ref.tag } : {}),
            },
            store,
          );
          const platforms = result.manifests.map((m) =>
            m.platform ? t.formatPlatform(m.platform) : m.digest,
          );
          ctx.result(
            `built ${t.formatReference({ ...ref, tag: result.tag })} ${result.index.digest}\n` +
              `platforms: ${platforms.join(', ')}` +
              (result.commonLayer ? `\ncommon layer: ${result.commonLayer.digest}` : ''),
            {
              digest: result.index.digest,
              tag: result.tag,
              manifests: result.manifests,
              ...(result.commonLayer ? { commonLayer: result.commonLayer } : {}),
            },
          );
        },
      ),
    );

  for (const name of ['push', 'copy']) {
    withRegistryOptions(
      program
        .command(name)
        .description(
          name === 'push'
            ? 'upload an image (with its signatures) to a registry'
            : 'copy an image (with its signatures) between any two references',
        )
        .argument('<src>', 'source reference')
        .argument('<dst>', 'destination reference'),
    ).action(
      run(async (ctx, srcText: string, dstText: string, opts: RegistryOptions) => {
        const t = tools();
        // Credentials and the pin are for the destination (the side written to); the source uses
        // ~/.docker/config.json. A CA file and --insecure apply to both (docs/decisions/0254).
        const src = await openReference(ctx, srcText, { insecure: opts.insecure, caCert: opts.caCert });
        const dst = await openReference(ctx, dstText, opts);
        const srcTarget = t.referenceTarget(src.ref);
        const tag = dst.ref.tag ?? src.ref.tag ?? (src.ref.digest === undefined ? 'latest' : undefined);
        const mountFrom =
          src.ref.kind === 'registry' &&
          dst.ref.kind === 'registry' &&
          src.ref.registry === dst.ref.registry &&
          src.ref.repository !== dst.ref.repository
            ? src.ref.repository
            : undefined;
        const progress = makeProgress(ctx);
        const result = await t.copyImage(src.store, dst.store, {
          reference: srcTarget,
          ...(tag !== undefined ? { tag } : {}),
          ...(mountFrom !== undefined ? { mountFrom } : {}),
          progress,
        });
        if (dst.ref.digest !== undefined && dst.ref.digest !== result.descriptor.digest) {
          throw new MinerhaulError(
            'E_DIGEST',
            `copied ${result.descriptor.digest}, not ${dst.ref.digest} as named`,
          );
        }
        ctx.result(
          `${name === 'push' ? 'pushed' : 'copied'} ${result.descriptor.digest} to ${dstText}` +
            ` (${result.blobs} blob(s), ${result.manifests} manifest(s), ${result.referrers} signature artifact(s))`,
          {
            digest: result.descriptor.digest,
            destination: dstText,
            ...(tag !== undefined ? { tag } : {}),
            blobs: result.blobs,
            manifests: result.manifests,
            referrers: result.referrers,
          },
        );
      }),
    );
  }

  withSignOptions(
    withRegistryOptions(
      program
        .command('sign')
        .description('sign what REF resolves to and store the release statement beside it')
        .argument('<ref>', 'image reference')
        .option('--channel <c>', 'channel the release is for (default: the tag of REF)'),
    ),
  ).action(
    run(async (ctx, refText: string, opts: SignOptions) => {
      const t = tools();
      const { ref, store } = await openReference(ctx, refText, opts);
      const secretKey = await loadSecretKey(ctx, opts.key);
      const result = await t.signImage(store, {
        reference: t.referenceTarget(ref),
        secretKey,
        ...(opts.channel !== undefined
          ? { channel: opts.channel }
          : ref.digest !== undefined && ref.tag
            ? { channel: ref.tag }
            : {}),
        ...statementOptions(t, opts),
      });
      const s = result.statement;
      const verb = result.alreadySigned ? 'already signed' : result.cosigned ? 'co-signed' : 'signed';
      ctx.result(
        `${verb} ${s.repository}@${s.digest} version ${s.version} channel ${s.channel} sequence ${s.sequence}` +
          ` with key ${secretKey.keyNumberHex}\nartifact: ${result.artifact.digest}`,
        {
          statement: s,
          artifact: result.artifact.digest,
          keyNumber: secretKey.keyNumberHex,
          cosigned: result.cosigned,
          alreadySigned: result.alreadySigned,
        },
      );
    }),
  );

  withRegistryOptions(
    program
      .command('verify')
      .description('check the signatures of an image; print the statement')
      .argument('<ref>', 'image reference')
      .requiredOption('--key <file>', 'trusted public key file or base64 line (repeatable)', collect, [])
      .option('--threshold <k>', 'distinct trusted keys that must have signed', '1')
      .option('--channel <c>', 'channel expected (default: the tag of REF)')
      .option('--identity <repo>', 'repository the statement must name (for mirrors and copies)'),
  ).action(
    run(
      async (
        ctx,
        refText: string,
        opts: RegistryOptions & { key: string[]; threshold: string; channel?: string; identity?: string },
      ) => {
        const t = tools();
        const { ref, store } = await openReference(ctx, refText, opts);
        const trustedKeys: PublicKey[] = opts.key.map((k) => signing().loadPublicKey(k));
        const channel = opts.channel ?? ref.tag;
        const result = await t.verifyImage(store, {
          reference: t.referenceTarget(ref),
          trustedKeys,
          threshold: parseInteger(opts.threshold, '--threshold', 1),
          ...(channel !== undefined ? { channel } : {}),
          ...(opts.identity !== undefined ? { repository: opts.identity } : {}),
        });
        ctx.result(
          `verified ${result.subject.digest}: signed by ${result.validKeyNumbers.join(', ')}\n` +
            result.statementBytes.toString('utf8'),
          {
            verified: true,
            digest: result.subject.digest,
            validKeyNumbers: result.validKeyNumbers,
            statement: result.statement,
          },
        );
      },
    ),
  );

  withSignOptions(
    withRegistryOptions(
      program
        .command('promote')
        .description('give an existing manifest a new tag (no blob moves) and sign it for that channel')
        .argument('<ref>', 'image reference')
        .argument('<tag>', 'new tag, also the channel'),
    ),
  ).action(
    run(async (ctx, refText: string, tag: string, opts: SignOptions) => {
      const t = tools();
      const { ref, store } = await openReference(ctx, refText, opts);
      if (!/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(tag)) {
        throw new MinerhaulError('E_CONFIG', `'${tag}' is not a valid tag`);
      }
      const secretKey = await loadSecretKey(ctx, opts.key);
      const result = await t.promoteImage(store, {
        reference: t.referenceTarget(ref),
        tag,
        secretKey,
        ...statementOptions(t, opts),
      });
      const s = result.statement;
      ctx.result(
        `promoted ${s.digest} to ${tag}; signed version ${s.version} channel ${s.channel} sequence ${s.sequence}`,
        {
          digest: s.digest,
          tag,
          statement: s,
          artifact: result.artifact.digest,
          keyNumber: secretKey.keyNumberHex,
        },
      );
    }),
  );

  withRegistryOptions(
    program
      .command('inspect')
      .description('digest, platforms, version annotations, signatures')
      .argument('<ref>'),
  ).action(
    run(async (ctx, refText: string, opts: RegistryOptions) => {
      const t = tools();
      const { ref, store } = await openReference(ctx, refText, opts);
      const info = await t.inspectImage(store, t.referenceTarget(ref));
      const lines = [
        `digest: ${info.digest}`,
        `media type: ${info.mediaType}`,
        ...(info.version !== undefined ? [`version: ${info.version}`] : []),
        ...(info.created !== undefined ? [`created: ${info.created}`] : []),
        ...(info.source !== undefined ? [`source: ${info.source}`] : []),
        ...(info.revision !== undefined ? [`revision: ${info.revision}`] : []),
        'platforms:',
        ...info.platforms.map(
          (p) => `  ${p.platform ? t.formatPlatform(p.platform) : '(single manifest)'} ${p.digest}`,
        ),
        `signatures: ${info.signatures.length}`,
        ...info.signatures.map(
          (s) =>
            `  key ${s.keyNumber ?? '?'} channel ${s.channel ?? '?'} sequence ${s.sequence ?? '?'} ${s.artifact}`,
        ),
      ];
      ctx.result(lines.join('\n'), info);
    }),
  );
}

async function openReference(
  ctx: CliContext,
  text: string,
  opts: RegistryOptions,
): Promise<{ ref: ImageReference; store: ImageStore }> {
  const t = tools();
  const ref = t.parseReference(text);
  const options: OpenStoreOptions = {
    ...(opts.insecure ? { insecure: true } : {}),
    ...(opts.caCert !== undefined ? { caCert: opts.caCert } : {}),
    ...(opts.pinnedCert !== undefined ? { pinnedCert: opts.pinnedCert } : {}),
  };
  if (opts.passwordStdin && opts.username === undefined) {
    throw new MinerhaulError('E_CONFIG', '--password-stdin needs --username');
  }
  if (opts.username !== undefined) {
    if (!opts.passwordStdin) {
      throw new MinerhaulError(
        'E_CONFIG',
        '--username needs --password-stdin (passwords are never taken from argv)',
      );
    }
    const password = (await readAllStdin(ctx)).replace(/\r?\n$/, '');
    options.credentials = { username: opts.username, password };
  }
  return { ref, store: t.openStore(ref, options) };
}

async function loadSecretKey(ctx: CliContext, path: string): Promise<SecretKey> {
  const s = signing();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MinerhaulError('E_KEY', `cannot read secret key ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const passphrase = s.secretKeyNeedsPassphrase(text) ? await readPassphrase(ctx, 'passphrase: ') : undefined;
  return s.decryptSecretKey(text, passphrase);
}

function statementOptions(
  t: RegistryTools,
  opts: SignOptions,
): { sequence?: number; expires?: Date; rollout?: number; minAgentVersion?: string; repository?: string } {
  return {
    ...(opts.identity !== undefined ? { repository: opts.identity } : {}),
    ...(opts.sequence !== undefined ? { sequence: parseInteger(opts.sequence, '--sequence', 0) } : {}),
    ...(opts.expires !== undefined ? { expires: t.parseExpiry(opts.expires) } : {}),
    ...(opts.rollout !== undefined ? { rollout: parsePercent(opts.rollout) } : {}),
    ...(opts.minAgentVersion !== undefined ? { minAgentVersion: opts.minAgentVersion } : {}),
  };
}

function parseInteger(value: string, name: string, min: number): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < min) {
    throw new MinerhaulError('E_CONFIG', `${name} must be an integer >= ${min} (got '${value}')`);
  }
  return Number(value);
}

function parsePercent(value: string): number {
  const n = Number(value);
  if (!/^\d{1,3}(\.\d+)?$/.test(value) || n > 100) {
    throw new MinerhaulError('E_CONFIG', `--rollout must be a percentage from 0 to 100 (got '${value}')`);
  }
  return n;
}

/** Bars on a terminal, JSON lines on stderr with --json, silence otherwise. */
function makeProgress(ctx: CliContext): TransferProgress {
  return tools().createProgress({ write: (s) => ctx.stderr(s), isTty: ctx.stdoutIsTty, json: ctx.json });
}
