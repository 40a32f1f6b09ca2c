// Push benchmark: minerhaul's push (copyImage from an OCI layout to a registry) against
// `skopeo copy oci:... docker://...` doing the same, in the same run, on Debian's docker-registry on
// 127.0.0.1. The image: ~150 MB in three gzip layers of mostly incompressible files.
// Run: node -r ./bench/ts-register.js bench/push.ts   (MINERHAUL_BENCH_RUNS=3 by default)
// The layout is generated once into /tmp/minerhaul-bench-push (delete it to regenerate).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { copyImage, OciLayoutStore, openStore } from '@minerhaul/registry-tools';
import { startRegistry } from '../test/support/registry';

const CACHE = process.env.MINERHAUL_BENCH_CACHE ?? '/tmp/minerhaul-bench-push';
const RUNS = Number(process.env.MINERHAUL_BENCH_RUNS ?? 3);
const LAYER_MB = [60, 50, 40];
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Writes the layout with three layers made by GNU tar + gzip -1 from random files. */
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
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDescriptor,
      layers,
    }),
  );
  await store.putManifest(manifest, 'application/vnd.oci.image.manifest.v1+json', 'bench');
  return layoutDir;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const layoutDir = await generate();
  const totalMb = LAYER_MB.reduce((a, b) => a + b, 0);
  const ours: number[] = [];
  const skopeo: number[] = [];
  // A fresh registry for every run and tool: no blob is present, and skopeo's blob-info cache
  // cannot turn uploads into cross-repository mounts (the port differs each time).
  const timed = async (fn: (host: string) => Promise<void>): Promise<number> => {
    const registry = await startRegistry();
    try {
      const t = process.hrtime.bigint();
      await fn(registry.host);
      return Number(process.hrtime.bigint() - t) / 1e9;
    } finally {
      await registry.stop();
    }
  };
  for (let run = 0; run < RUNS; run++) {
    ours.push(
      await timed(async (host) => {
        await copyImage(new OciLayoutStore(layoutDir), openStore(`${host}/miner:bench`), {
          reference: 'bench',
          tag: 'bench',
        });
      }),
    );
    skopeo.push(
      await timed(async (host) => {
        execFileSync('skopeo', [
          'copy',
          '--quiet',
          '--dest-tls-verify=false',
          `oci:${layoutDir}:bench`,
          `docker://${host}/miner:bench`,
        ]);
      }),
    );
    console.log(`run ${run + 1}: minerhaul ${ours[run]?.toFixed(2)} s, skopeo ${skopeo[run]?.toFixed(2)} s`);
  }
  const m = median(ours);
  const s = median(skopeo);
  console.log(`image: ${totalMb} MB in ${LAYER_MB.length} layers, ${RUNS} runs, medians:`);
  console.log(`minerhaul push ${m.toFixed(2)} s (${(totalMb / m).toFixed(0)} MB/s)`);
  console.log(`skopeo copy    ${s.toFixed(2)} s (${(totalMb / s).toFixed(0)} MB/s)`);
  console.log(`ratio (minerhaul / skopeo): ${(m / s).toFixed(2)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
