// Pull benchmark: minerhaul's registry client pulling an image (manifest, config, layers; every
// blob verified while streaming) into an OCI layout, against `skopeo copy docker://... oci:...` doing
// the same, in the same run, from Debian's docker-registry on 127.0.0.1. The image: ~150 MB in three
// gzip layers of mostly incompressible files. Prints the time ratio (ours / skopeo) last.
// Run: node -r ./bench/ts-register.js bench/pull.ts   (MINERHAUL_BENCH_RUNS=3 by default)
// The source layout is generated once into /tmp/minerhaul-bench-pull (delete it to regenerate).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { OciLayoutStore, openStore, parseManifest, type ImageStore } from '@minerhaul/registry-tools';
import { startRegistry } from '../test/support/registry';
import { BENCH_LAYER_MB as LAYER_MB, benchImageLayout } from './support/bench-image';

const CACHE = process.env.MINERHAUL_BENCH_CACHE ?? '/tmp/minerhaul-bench-pull';
const RUNS = Number(process.env.MINERHAUL_BENCH_RUNS ?? 3);

/** The source image as an OCI layout (bench/support/bench-image.ts). */
const generate = (): Promise<string> => benchImageLayout(CACHE);

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
