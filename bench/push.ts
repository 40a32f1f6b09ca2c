// Push benchmark: minerhaul's push (copyImage from an OCI layout to a registry) against
// `skopeo copy oci:... docker://...` doing the same, in the same run, on Debian's docker-registry on
// 127.0.0.1. The image: ~150 MB in three gzip layers of mostly incompressible files.
// Run: node -r ./bench/ts-register.js bench/push.ts   (MINERHAUL_BENCH_RUNS=3 by default)
// The layout is generated once into /tmp/minerhaul-bench-push (delete it to regenerate).
import { execFileSync } from 'node:child_process';
import { copyImage, OciLayoutStore, openStore } from '@minerhaul/registry-tools';
import { startRegistry } from '../test/support/registry';
import { BENCH_LAYER_MB as LAYER_MB, benchImageLayout } from './support/bench-image';

const CACHE = process.env.MINERHAUL_BENCH_CACHE ?? '/tmp/minerhaul-bench-push';
const RUNS = Number(process.env.MINERHAUL_BENCH_RUNS ?? 3);

/** The source image as an OCI layout (bench/support/bench-image.ts). */
const generate = (): Promise<string> => benchImageLayout(CACHE);

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
