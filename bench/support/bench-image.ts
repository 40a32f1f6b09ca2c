import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { OciLayoutStore } from '@minerhaul/registry-tools';

export const BENCH_LAYER_MB = [60, 50, 40];
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * The registry benchmarks' image, tagged `bench` in an OCI layout under `cacheDir` (made once, reused
 * until deleted): ~150 MB in three layers made by GNU tar + gzip -1 from random (incompressible) files.
 */
export async function benchImageLayout(cacheDir: string): Promise<string> {
  const layoutDir = join(cacheDir, 'layout');
  if (existsSync(join(layoutDir, 'index.json'))) return layoutDir;
  rmSync(cacheDir, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  const store = new OciLayoutStore(layoutDir);
  const layers = [];
  const diffIds = [];
  for (const [i, mb] of BENCH_LAYER_MB.entries()) {
    const src = join(cacheDir, `src${i}`);
    mkdirSync(src, { recursive: true });
    for (let f = 0; f < 8; f++) writeFileSync(join(src, `f${f}.bin`), randomBytes((mb * 1024 * 1024) / 8));
    const tar = join(cacheDir, `layer${i}.tar`);
    execFileSync('tar', ['-C', src, '--numeric-owner', '-cf', tar, '.']);
    diffIds.push(digestOf(readFileSync(tar)));
    execFileSync('gzip', ['-1', '-n', tar]);
    const blob = readFileSync(`${tar}.gz`);
    const descriptor = { mediaType: GZIP, digest: digestOf(blob), size: blob.length };
    await store.putBlob(descriptor, () => Readable.from([blob]));
    layers.push(descriptor);
    rmSync(src, { recursive: true, force: true });
    rmSync(`${tar}.gz`, { force: true });
  }
  const config = Buffer.from(
    JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }),
  );
  const configDescriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: digestOf(config),
    size: config.length,
  };
  await store.putBlob(configDescriptor, () => Readable.from([config]));
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: configDescriptor, layers }),
  );
  await store.putManifest(manifest, MANIFEST, 'bench');
  return layoutDir;
}
