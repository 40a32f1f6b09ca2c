import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ErrorCode,
  type PublicKey,
  type SecretKey,
  decryptSecretKey,
  generateKeyPair,
  isMinerhaulError,
  parsePublicKey,
} from '@minerhaul/signing';
import { type BuildResult, buildImage } from '../../src/builder';
import type { ImageStore } from '../../src/image-store';
import { requireTool } from '../../../test/support/require-tool';

export interface TestKey {
  secret: SecretKey;
  public: PublicKey;
}

export function makeKey(): TestKey {
  const pair = generateKeyPair({});
  return { secret: decryptSecretKey(pair.secretKey), public: parsePublicKey(pair.publicKey) };
}

/** A one-platform image with a given version and content, built into `store` under `tag`. */
export async function buildTestImage(
  store: ImageStore,
  root: string,
  version: string,
  tag: string,
  content = version,
): Promise<BuildResult> {
  const dir = join(root, `src-${version}-${content}`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'miner'), `#!/bin/sh\necho ${content}\n`, { mode: 0o755 });
  return buildImage(
    {
      platforms: [{ platform: { os: 'linux', architecture: 'arm64' }, dir }],
      version,
      tag,
      sourceDateEpoch: 1_700_000_000,
    },
    store,
  );
}

export async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    caught = err;
  }
  if (!isMinerhaulError(caught, code)) {
    throw new Error(
      `expected ${code}, got ${caught instanceof Error ? `${(caught as { code?: string }).code} ${caught.message}` : String(caught)}`,
    );
  }
}

/**
 * A miner directory whose program is a static busybox (`/opt/miner/bin/busybox`), so a container
 * made from the image can run `busybox echo hello` without any base image.
 */
export function makeBusyboxTree(root: string, name = 'busybox-miner'): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(requireTool('busybox'), join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  writeFileSync(join(dir, 'README'), 'test miner\n');
  return dir;
}
