// Unpack benchmark: minerhaul's unpacker against GNU `tar -xzf` on the same three gzip layers, for
// two sets: `mixed` (~150 MB, mostly incompressible, 2,700 files) and `miner-like` (157 MB that
// compresses ~3x in layers of 104, 35 and 18 MB, the shape of the issue's image;
// support/miner-content.ts). Run: node -r ./bench/ts-register.js bench/unpack.ts
// The layers are generated once into /tmp/minerhaul-bench-unpack (delete it to regenerate).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { unpackImage, unpackLayer, type ImageLayer } from '@minerhaul/updater';
import { MINER_IMAGE_PLAN, writeMinerLikeLayer } from './support/miner-content';
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

/** Generates one gzip layer once: `fill` writes its files into a scratch directory. */
function layerOnce(name: string, gzipLevel: string, fill: (src: string) => void): string {
  const archive = join(CACHE, `${name}.tar.gz`);
  if (existsSync(archive)) return archive;
  const src = join(CACHE, `${name}-src`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  fill(src);
  execFileSync('sh', ['-c', `tar -C '${src}' -cf - . | gzip ${gzipLevel} -n > '${archive}.partial'`]);
  renameSync(`${archive}.partial`, archive);
  rmSync(src, { recursive: true, force: true });
  return archive;
}

function generateMixed(): string[] {
  mkdirSync(CACHE, { recursive: true });
  return PLAN.map((plan) =>
    layerOnce(plan.name, '-6', (src) => {
      for (let i = 0; i < plan.files; i += 1) {
        const dir = join(src, plan.name, `d${i % 37}`, `e${i % 5}`);
        mkdirSync(dir, { recursive: true });
        const size = plan.minSize + Math.floor(Math.random() * (plan.maxSize - plan.minSize));
        writeFileSync(join(dir, `f${i}.bin`), fileContent(size), { mode: i % 3 === 0 ? 0o755 : 0o644 });
      }
    }),
  );
}

/** The miner-like layers of bench/fetch-unpack.ts (same content and seeds). */
function generateMinerLike(): string[] {
  mkdirSync(CACHE, { recursive: true });
  return MINER_IMAGE_PLAN.map((plan, index) =>
    layerOnce(`minerlike-${plan.name}`, '-6', (src) => writeMinerLikeLayer(src, plan, index + 1)),
  );
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

interface SetResult {
  name: string;
  compressedMb: number;
  paths: number;
  gnu: number[];
  ours: number[];
  oursDurable: number[];
  gnuCpu: number[];
  oursCpu: number[];
}

/** RUNS rounds of GNU tar, unpackLayer and unpackImage on `layers`, each in a never-used directory. */
async function measure(name: string, layers: string[], runs: RunDirs): Promise<SetResult> {
  const r: SetResult = {
    name,
    compressedMb: layers.reduce((n, l) => n + statSync(l).size, 0) / 1e6,
    paths: 0,
    gnu: [],
    ours: [],
    oursDurable: [],
    gnuCpu: [],
    oursCpu: [],
  };
  const diffIds = layers.map(
    (l) =>
      `sha256:${execFileSync('sh', ['-c', `gzip -dc '${l}' | sha256sum`], { encoding: 'utf8' }).split(' ')[0]}`,
  );
  let firstOurs = '';
  for (let run = 0; run < RUNS; run += 1) {
    const gnuDir = runs.next(`${name}-gnu`);
    settle();
    let gnuCpu = 0;
    r.gnu.push(
      await timeIt(() => {
        for (const layer of layers) {
          // /usr/bin/time reports tar's CPU time including its gzip child (stderr: "user sys").
          const t = spawnSync('/usr/bin/time', ['-f', '%U %S', 'tar', '-xzf', layer, '-C', gnuDir], {
            encoding: 'utf8',
          });
          if (t.status !== 0) throw new Error(`tar failed: ${t.stderr}`);
          const [user, sys] = t.stderr.trim().split('\n').pop()!.split(' ').map(Number);
          gnuCpu += ((user ?? 0) + (sys ?? 0)) * 1000;
        }
      }),
    );
    r.gnuCpu.push(gnuCpu);
    const ourDir = runs.next(`${name}-ours`);
    firstOurs ||= ourDir;
    settle();
    const cpu0 = process.cpuUsage();
    r.ours.push(
      await timeIt(async () => {
        for (const layer of layers)
          await unpackLayer(createReadStream(layer, { highWaterMark: 1 << 20 }), {
            mediaType: GZIP,
            destDir: ourDir,
          });
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    r.oursCpu.push((cpu.user + cpu.system) / 1000);
    // The same through unpackImage: staging dir, diff_id check and one syncfs before the rename.
    const releaseDir = join(runs.next(`${name}-release`), 'release');
    settle();
    const image: ImageLayer[] = layers.map((l, i) => ({
      descriptor: { mediaType: GZIP, digest: 'sha256:bench', size: statSync(l).size },
      diffId: diffIds[i] as string,
      open: async () => createReadStream(l, { highWaterMark: 1 << 20 }),
    }));
    r.oursDurable.push(await timeIt(() => unpackImage(image, releaseDir).then(() => undefined)));
  }
  r.paths = readdirSync(firstOurs, { recursive: true }).length;
  return r;
}

function report(r: SetResult): void {
  const fmt = (v: number[]): string => `best ${best(v).toFixed(0)} ms, median ${median(v).toFixed(0)} ms`;
  console.log(
    `${r.name}: ${r.compressedMb.toFixed(1)} MB compressed in 3 layers, ${r.paths} paths; ${RUNS} runs`,
  );
  console.log(`  GNU tar -xzf (3 layers):                           ${fmt(r.gnu)}`);
  console.log(`  minerhaul unpackLayer (3 layers):                  ${fmt(r.ours)}`);
  console.log(`  minerhaul unpackImage (+diff_id, syncfs, rename):  ${fmt(r.oursDurable)}`);
  console.log(`  CPU time (user+sys): GNU tar+gzip ${fmt(r.gnuCpu)}; minerhaul ${fmt(r.oursCpu)}`);
}

async function main(): Promise<void> {
  const sets: Array<[string, string[]]> = [
    ['mixed', generateMixed()],
    ['miner-like', generateMinerLike()],
  ];
  const runs = new RunDirs(join(CACHE, 'out'));
  const results: SetResult[] = [];
  try {
    for (const [name, layers] of sets) results.push(await measure(name, layers, runs));
  } finally {
    runs.removeAll();
  }
  results.forEach(report);
  for (const r of results) {
    console.log(
      `ratio CPU time unpack / GNU tar -xzf, ${r.name} (median): ${(median(r.oursCpu) / median(r.gnuCpu)).toFixed(2)}`,
    );
    console.log(
      `ratio unpack / GNU tar -xzf, ${r.name} (median): ${(median(r.ours) / median(r.gnu)).toFixed(2)}`,
    );
    console.log(
      `ratio unpack / GNU tar -xzf, ${r.name} (best): ${(best(r.ours) / best(r.gnu)).toFixed(2)} (goal <= 1.2)`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
