import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Descriptor, OciLayoutStore } from '@minerhaul/registry-tools';

export const BENCH_LAYER_MB = [60, 50, 40];
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * A gzip layer of GNU tar (numeric owner 0) over the files `fill` writes into a scratch directory
 * under `workDir`, stored in `store`; returns its descriptor and diff_id. `gzipLevel`: '-1' for
 * random bytes (nothing to gain), '-6' (gzip's default, as image builders use) for compressible ones.
 */
export async function storeTarGzLayer(
  store: OciLayoutStore,
  workDir: string,
  name: string,
  gzipLevel: string,
  fill: (src: string) => void,
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const src = join(workDir, `src-${name}`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  fill(src);
  const tar = join(workDir, `${name}.tar`);
  execFileSync('tar', ['-C', src, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.']);
  const diffId = digestOf(readFileSync(tar));
  execFileSync('gzip', [gzipLevel, '-n', '-f', tar]);
  const blob = readFileSync(`${tar}.gz`);
  const descriptor: Descriptor = { mediaType: GZIP, digest: digestOf(blob), size: blob.length };
  await store.putBlob(descriptor, () => Readable.from([blob]));
  rmSync(src, { recursive: true, force: true });
  rmSync(`${tar}.gz`, { force: true });
  return { descriptor, diffId };
}

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
    const layer = await storeTarGzLayer(store, cacheDir, `layer${i}`, '-1', (src) => {
      for (let f = 0; f < 8; f++) writeFileSync(join(src, `f${f}.bin`), randomBytes((mb * 1024 * 1024) / 8));
    });
    layers.push(layer.descriptor);
    diffIds.push(layer.diffId);
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
