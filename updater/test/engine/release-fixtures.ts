import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type BuildResult, type ImageStore, buildImage, signImage } from '@minerhaul/registry-tools';
import {
  decryptSecretKey,
  generateKeyPair,
  parsePublicKey,
  type PublicKey,
  type SecretKey,
} from '@minerhaul/signing';
import { hostPlatform } from '@minerhaul/updater';

/** A signify key pair for tests (no passphrase). */
export interface TestKeys {
  publicKeyText: string;
  publicKey: PublicKey;
  secretKey: SecretKey;
}

export function makeTestKeys(comment = 'test'): TestKeys {
  const pair = generateKeyPair({ comment });
  return {
    publicKeyText: pair.publicKey,
    publicKey: parsePublicKey(pair.publicKey),
    secretKey: decryptSecretKey(pair.secretKey),
  };
}

export type FileTree = Record<string, string | { content: string | Buffer; mode: number }>;

export interface PublishOptions {
  version: string;
  /** Files of this platform's layer, relative to the prefix (/opt/miner). */
  files: FileTree;
  /** Files of the `--common` layer, shared byte-for-byte between releases that give the same tree. */
  common?: FileTree;
  tag: string;
  keys?: TestKeys;
  sequence?: number;
  minAgentVersion?: string;
  entrypoint?: string;
}

/** Builds a slim image with the real builder for this host's platform, and signs it when keys are given. */
export async function publishRelease(store: ImageStore, options: PublishOptions): Promise<BuildResult> {
  const work = await mkdtemp(join(tmpdir(), 'release-src-'));
  try {
    const platformDir = join(work, 'platform');
    await writeTree(platformDir, options.files);
    let common: string | undefined;
    if (options.common !== undefined) {
      common = join(work, 'common');
      await writeTree(common, options.common);
    }
    const built = await buildImage(
      {
        platforms: [{ platform: parsePlatformText(hostPlatform()), dir: platformDir }],
        ...(common !== undefined ? { common } : {}),
        version: options.version,
        tag: options.tag,
        sourceDateEpoch: 1_700_000_000,
        ...(options.entrypoint !== undefined ? { entrypoint: options.entrypoint } : {}),
      },
      store,
    );
    if (options.keys !== undefined) {
      await signImage(store, {
        reference: options.tag,
        secretKey: options.keys.secretKey,
        channel: options.tag,
        ...(options.sequence !== undefined ? { sequence: options.sequence } : {}),
        ...(options.minAgentVersion !== undefined ? { minAgentVersion: options.minAgentVersion } : {}),
      });
    }
    return built;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function writeTree(root: string, tree: FileTree): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [path, value] of Object.entries(tree)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    if (typeof value === 'string') await writeFile(full, value, { mode: 0o644 });
    else await writeFile(full, value.content, { mode: value.mode });
  }
}

function parsePlatformText(text: string): { os: string; architecture: string; variant?: string } {
  const [os = 'linux', architecture = 'amd64', variant] = text.split('/');
  return { os, architecture, ...(variant !== undefined ? { variant } : {}) };
}
