// Pull benchmark: minerhaul's registry client pulling an image (manifest, config, layers; every
// blob verified while streaming) into an OCI layout, against `skopeo copy docker://... oci:...` doing
// the same, in the same run, from Debian's docker-registry on 127.0.0.1. The image: ~150 MB in three
// gzip layers of mostly incompressible files. Prints the time ratio (ours / skopeo) last.
// Run: node -r ./bench/ts-register.js bench/pull.ts   (MINERHAUL_BENCH_RUNS=3 by default)
// The source layout is generated once into /tmp/minerhaul-bench-pull (delete it to regenerate).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { OciLayoutStore, openStore, parseManifest, type ImageStore } from '@minerhaul/registry-tools';
import { startRegistry } from '../test/support/registry';

const CACHE = process.env.MINERHAUL_BENCH_CACHE ?? '/tmp/minerhaul-bench-pull';
const RUNS = Number(process.env.MINERHAUL_BENCH_RUNS ?? 3);
const LAYER_MB = [60, 50, 40];
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The source image as an OCI layout: three layers made by GNU tar + gzip -1 from random files. */
async function generate(): Promise<string> {
  const layoutDir = join(CACHE, 'layout');
  if (existsSync(join(layoutDir, 'index.json'))) return layoutDir;
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const store = new OciLayoutStore(layoutDir);
  const layers = [];
  const diffIds = [];
  for (const [i, mb] of LAYER_MB.entries()) {
    const src = join(CACHE, `src${i}`);
    mkdirSync(src, { recursive: true });
    for (let f = 0; f < 8; f++) writeFileSync(join(src, `f${f}.bin`), randomBytes((mb * 1024 * 1024) / 8));
    const tar = join(CACHE, `layer${i}.tar`);
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

/** Our pull: resolve with HEAD, GET and verify the manifest, then every blob concurrently into the layout. */
async function pull(source: ImageStore, target: OciLayoutStore, tag: string): Promise<void> {
  const top = await source.resolve(tag);
  if (!top) throw new Error(`no ${tag}`);
  const fetched = await source.getManifest(top.digest);
  if (!fetched) throw new Error(`no manifest ${top.digest}`);
  const parsed = parseManifest(fetched.bytes, fetched.descriptor.mediaType);
  if (parsed.kind !== 'manifest') throw new Error('bench image must be a single manifest');
  const blobs = [parsed.manifest.config, ...parsed.manifest.layers];
  await Promise.all(blobs.map((d) => target.putBlob(d, () => source.openBlob(d))));
  await target.putManifest(fetched.bytes, fetched.descriptor.mediaType, tag);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const layoutDir = await generate();
  const totalMb = LAYER_MB.reduce((a, b) => a + b, 0);
  const registry = await startRegistry();
  const work = join(CACHE, 'pulls');
  try {
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      '--insecure-policy',
      '--dest-tls-verify=false',
      `oci:${layoutDir}:bench`,
      `docker://${registry.host}/miner:bench`,
    ]);
    const ours: number[] = [];
    const skopeo: number[] = [];
    const timed = async (fn: (dir: string) => Promise<void> | void, dir: string): Promise<number> => {
      rmSync(dir, { recursive: true, force: true });
      const t = process.hrtime.bigint();
      await fn(dir);
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      rmSync(dir, { recursive: true, force: true });
      return seconds;
    };
    for (let run = 0; run < RUNS; run++) {
      ours.push(
        await timed(
          async (dir) => {
            await pull(openStore(`${registry.host}/miner:bench`), new OciLayoutStore(dir), 'bench');
          },
          join(work, `ours-${run}`),
        ),
      );
      skopeo.push(
        await timed(
          (dir) => {
            execFileSync('skopeo', [
              'copy',
              '--quiet',
              '--insecure-policy',
              '--src-tls-verify=false',
              `docker://${registry.host}/miner:bench`,
              `oci:${dir}:bench`,
            ]);
          },
          join(work, `skopeo-${run}`),
        ),
      );
      console.log(
        `run ${run + 1}: minerhaul ${ours[run]?.toFixed(2)} s, skopeo ${skopeo[run]?.toFixed(2)} s`,
      );
    }
    const m = median(ours);
    const s = median(skopeo);
    console.log(`image: ${totalMb} MB in ${LAYER_MB.length} layers, ${RUNS} runs, medians:`);
    console.log(`minerhaul pull ${m.toFixed(2)} s (${(totalMb / m).toFixed(0)} MB/s)`);
    console.log(`skopeo copy    ${s.toFixed(2)} s (${(totalMb / s).toFixed(0)} MB/s)`);
    console.log(`ratio (minerhaul / skopeo): ${(m / s).toFixed(2)}`);
  } finally {
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
