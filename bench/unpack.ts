// Unpack benchmark: minerhaul's unpacker against GNU `tar -xzf` on the same three gzip layers
// (~150 MB, mostly incompressible). Run: node -r ./bench/ts-register.js bench/unpack.ts
// The layers are generated once into /tmp/minerhaul-bench-unpack (delete it to regenerate).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { unpackImage, unpackLayer, type ImageLayer } from '@minerhaul/updater';
import { RunDirs } from './support/run-dirs';

const CACHE = process.env.MINERHAUL_BENCH_CACHE ?? '/tmp/minerhaul-bench-unpack';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const RUNS = Number(process.env.MINERHAUL_BENCH_RUNS ?? 5);

interface LayerPlan {
  name: string;
  files: number;
  minSize: number;
  maxSize: number;
}

// A base-OS-like layer of many small files, a library layer, and a few big binaries/data files.
const PLAN: LayerPlan[] = [
  { name: 'base', files: 2500, minSize: 512, maxSize: 24 * 1024 },
  { name: 'libs', files: 220, minSize: 64 * 1024, maxSize: 400 * 1024 },
  { name: 'miner', files: 12, minSize: 4 * 1024 * 1024, maxSize: 9 * 1024 * 1024 },
];

/** Mostly random bytes with a compressible tail, like binaries with string tables. */
function fileContent(size: number): Buffer {
  const random = Math.floor(size * 0.85);
  return Buffer.concat([randomBytes(random), Buffer.alloc(size - random, 'miner config text ')]);
}

function generate(): string[] {
  mkdirSync(CACHE, { recursive: true });
  const layers: string[] = [];
  for (const plan of PLAN) {
    const archive = join(CACHE, `${plan.name}.tar.gz`);
    layers.push(archive);
    if (existsSync(archive)) continue;
    const src = join(CACHE, `${plan.name}-src`);
    rmSync(src, { recursive: true, force: true });
    for (let i = 0; i < plan.files; i += 1) {
      const dir = join(src, plan.name, `d${i % 37}`, `e${i % 5}`);
      mkdirSync(dir, { recursive: true });
      const size = plan.minSize + Math.floor(Math.random() * (plan.maxSize - plan.minSize));
      writeFileSync(join(dir, `f${i}.bin`), fileContent(size), { mode: i % 3 === 0 ? 0o755 : 0o644 });
    }
    execFileSync('tar', ['-C', src, '-czf', archive, '.']);
    rmSync(src, { recursive: true, force: true });
  }
  return layers;
}

async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** On a shared machine the fastest run is the one least disturbed by others. */
function best(values: number[]): number {
  return Math.min(...values);
}

/** Writes left dirty by one contender must not be flushed on the other's clock. */
function settle(): void {
  execFileSync('sync');
}

async function main(): Promise<void> {
  const layers = generate();
  const compressed = layers.reduce((n, l) => n + statSync(l).size, 0);
  const runs = new RunDirs(join(CACHE, 'out'));
  const gnu: number[] = [];
  const ours: number[] = [];
  const oursDurable: number[] = [];
  const gnuCpu: number[] = [];
  const oursCpu: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const gnuDir = runs.next('gnu');
    settle();
    gnu.push(
      await timeIt(() => {
        for (const layer of layers) {
          // /usr/bin/time reports tar's CPU time including its gzip child (stderr: "user sys").
          const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'tar', '-xzf', layer, '-C', gnuDir], {
            encoding: 'utf8',
          });
          if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
          const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
          gnuCpu[run] = (gnuCpu[run] ?? 0) + ((user ?? 0) + (sys ?? 0)) * 1000;
        }
      }),
    );
    const ourDir = runs.next('ours');
    settle();
    const cpu0 = process.cpuUsage();
    ours.push(
      await timeIt(async () => {
        for (const layer of layers)
          await unpackLayer(createReadStream(layer, { highWaterMark: 1 << 20 }), {
            mediaType: GZIP,
            destDir: ourDir,
          });
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    oursCpu.push((cpu.user + cpu.system) / 1000);
    // The same through unpackImage: staging dir, diff_id check and one syncfs before the rename.
    const releaseDir = join(runs.next('release'), 'release');
    settle();
    const image: ImageLayer[] = layers.map((l) => ({
      descriptor: { mediaType: GZIP, digest: 'sha256:bench', size: statSync(l).size },
      diffId: execFileSync('sh', ['-c', `gzip -dc '${l}' | sha256sum`], { encoding: 'utf8' })
        .split(' ')[0]!
        .replace(/^/, 'sha256:'),
      open: async () => createReadStream(l, { highWaterMark: 1 << 20 }),
    }));
    oursDurable.push(await timeIt(() => unpackImage(image, releaseDir).then(() => undefined)));
  }
  const files = readdirSync(join(runs.parent, 'ours-1'), { recursive: true }).length;
  runs.removeAll();
  const fmt = (v: number[]): string => `best ${best(v).toFixed(0)} ms, median ${median(v).toFixed(0)} ms`;
  console.log(
    `layers: ${layers.length}, ${(compressed / 1e6).toFixed(1)} MB compressed, ${files} paths; ${RUNS} runs`,
  );
  console.log(`GNU tar -xzf (3 layers):                           ${fmt(gnu)}`);
  console.log(`minerhaul unpackLayer (3 layers):                  ${fmt(ours)}`);
  console.log(`minerhaul unpackImage (+diff_id, syncfs, rename):  ${fmt(oursDurable)}`);
  console.log(`CPU time (user+sys): GNU tar+gzip ${fmt(gnuCpu)}; minerhaul ${fmt(oursCpu)}`);
  console.log(
    `ratio CPU time unpack / GNU tar -xzf (median): ${(median(oursCpu) / median(gnuCpu)).toFixed(2)}`,
  );
  console.log(`ratio unpack / GNU tar -xzf (median): ${(median(ours) / median(gnu)).toFixed(2)}`);
  console.log(`ratio unpack / GNU tar -xzf (best): ${(best(ours) / best(gnu)).toFixed(2)} (goal <= 1.2)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
