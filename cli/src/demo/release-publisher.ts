import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DemoLayout } from './demo-paths';
import { type MinerhaulCliOptions, runMinerBuild, runMinerhaul } from './minerhaul-cli';

export interface KeyResult {
  keyNumber: string;
  publicKey: string;
  secretKey: string;
}

export interface BuiltRelease {
  version: string;
  /** `oci-layout:DIR:VERSION`, where the build went. */
  ref: string;
  digest: string;
  /** The layer holding the miner's files (bin/, lib/, VERSION): unique to each version. */
  commonLayerDigest: string;
  commands: string[];
}

export interface PublishedRelease {
  version: string;
  digest: string;
  sequence: number;
  keyNumber: string;
  commands: string[];
}

/** `minerhaul key generate`: passphrase-protected (MINERHAUL_PASSPHRASE in `cli.env`) unless `plain`. */
export async function generateKey(
  publicKey: string,
  secretKey: string,
  comment: string,
  cli: MinerhaulCliOptions,
  plain = false,
): Promise<KeyResult & { command: string }> {
  mkdirSync(dirname(secretKey), { recursive: true });
  const run = await runMinerhaul<KeyResult>(
    [
      'key',
      'generate',
      '--public',
      publicKey,
      '--secret',
      secretKey,
      '--comment',
      comment,
      ...(plain ? ['--no-passphrase'] : []),
    ],
    cli,
  );
  return { ...run.result, command: run.shown };
}

/** The sample miner's slim image (both platforms) with images/sample-miner/build.js. */
export async function buildRelease(
  layout: DemoLayout,
  version: string,
  options: { failHealth?: boolean },
  cli: MinerhaulCliOptions,
): Promise<BuiltRelease> {
  const ref = `oci-layout:${layout.builds}:${version}`;
  const run = await runMinerBuild<{ digest: string; commonLayer?: { digest: string } }>(
    ['--version', version, '--output', ref, ...(options.failHealth ? ['--fail-health'] : [])],
    cli,
  );
  return {
    version,
    ref,
    digest: run.result.digest,
    commonLayerDigest: run.result.commonLayer?.digest ?? '',
    commands: [run.shown],
  };
}

/**
 * What a maintainer does to release (docs/maintainer-guide.md): push the build under its version tag,
 * then `promote` it to the channel, which tags it and signs it for that channel. The statement's
 * sequence is one more than the highest signed for the channel among the tagged images, so the
 * version tags keep the numbering going up.
 */
export async function publishRelease(
  built: BuiltRelease,
  repository: string,
  channel: string,
  secretKey: string,
  cli: MinerhaulCliOptions,
): Promise<PublishedRelease> {
  const versionRef = `${repository}:${built.version}`;
  const push = await runMinerhaul<{ digest: string }>(['push', built.ref, versionRef], cli);
  const promote = await runMinerhaul<{ statement: { sequence: number }; keyNumber: string }>(
    ['promote', versionRef, channel, '--key', secretKey],
    cli,
  );
  return {
    version: built.version,
    digest: push.result.digest,
    sequence: promote.result.statement.sequence,
    keyNumber: promote.result.keyNumber,
    commands: [push.shown, promote.shown],
  };
}
