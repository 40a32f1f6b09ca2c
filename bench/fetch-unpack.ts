// Fetch + verify + unpack benchmark (docs/performance.md "Fetch and unpack"):
// 1. The engine installing a signed 3-layer image from Debian's docker-registry on 127.0.0.1 into a
//    release directory (HEAD, statement fetch + signify verification, manifest, then every layer in
//    ONE streaming pass: download -> hash -> tee to the blob store -> gunzip -> unpack), against
//    `skopeo copy docker://... oci:...` + `umoci raw unpack` of the same image, same run. Goal <= 0.5.
//    Two images: `miner`, content that compresses like a miner's files (157 MB in layers of 104, 35
//    and 18 MB, the shape the issue measured; bench/support/miner-content.ts), and `big`, 150 MB of
//    random bytes, the incompressible worst case where decompression costs nothing to overlap.
// 2. v1 -> v2 where only one small layer changed: every byte the engine fetched (manifests,
//    statements, config, layers; counted by a proxy of our own) / that layer's size. Goal <= 1.02.
// 3. The install of 1. in a fresh node process per run, from the build (bench/support/install-once.js),
//    as a device's engine child does it (0506), again beside skopeo copy + umoci raw unpack.
// Runtime and health check are no-ops: this measures fetching, not swapping (bench/swap.ts does that).
// CPU time (user+sys) is printed beside wall time: ours from process.cpuUsage() (thread pool included),
// skopeo's and umoci's from /usr/bin/time; it moves less than wall time on a shared machine.
// Beside each run, GNU `tar -xzf` of the same layers from the local layout (no download, no digest
// check): the floor the 0.5 goal is compared with, since a one-pass install must still unpack.
// Run: npm run build && node -r ./bench/ts-register.js bench/fetch-unpack.ts   (MINERHAUL_BENCH_RUNS=3 by default)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  type Descriptor,
  type ImageStore,
  OciLayoutStore,
  openStore,
  parseManifest,
  signImage,
} from '@minerhaul/registry-tools';
import { decryptSecretKey, generateKeyPair, parsePublicKey } from '@minerhaul/signing';
import {
  type EngineRuntime,
  UpdateEngine,
  blobStoreStager,
  hostPlatform,
  platformSelector,
  statementVerifier,
} from '@minerhaul/updater';
import { ENGINE_CHILD_V8_FLAGS } from '@minerhaul/hotspot-agent';
import { startRegistry } from '../test/support/registry';
import { storeTarGzLayer } from './support/bench-image';
import { MINER_IMAGE_PLAN, writeMinerLikeLayer } from './support/miner-content';
import { RunDirs } from './support/run-dirs';

const CACHE = process.env.MINERHAUL_BENCH_CACHE ?? '/tmp/minerhaul-bench-fetch-unpack';
const RUNS = Number(process.env.MINERHAUL_BENCH_RUNS ?? 3);
const LAYER_MB = [60, 50, 40];
const SMALL_MB = 2;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** `files` random files totalling `mb` MB. */
function randomLayer(layout: OciLayoutStore, name: string, mb: number, files: number) {
  return storeTarGzLayer(layout, CACHE, name, '-1', (src) => {
    mkdirSync(join(src, 'opt', 'miner', name), { recursive: true });
    for (let f = 0; f < files; f++) {
      writeFileSync(
        join(src, 'opt', 'miner', name, `f${f}.bin`),
        randomBytes(Math.floor((mb * 1024 * 1024) / files)),
      );
    }
  });
}

/** One layer of the miner-like plan (bench/support/miner-content.ts). */
function minerLikeLayer(layout: OciLayoutStore, index: number) {
  const plan = MINER_IMAGE_PLAN[index];
  if (plan === undefined) throw new Error(`no miner layer ${index}`);
  return storeTarGzLayer(layout, CACHE, plan.name, '-6', (src) => writeMinerLikeLayer(src, plan, index + 1));
}

async function putImage(
  layout: OciLayoutStore,
  layers: Array<{ descriptor: Descriptor; diffId: string }>,
  tag: string,
) {
  const [os, architecture, variant] = hostPlatform().split('/');
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os,
      ...(variant ? { variant } : {}),
      config: { Entrypoint: ['/opt/miner/bin/miner'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const configDescriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: digestOf(config),
    size: config.length,
  };
  await layout.putBlob(configDescriptor, () => Readable.from([config]));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: configDescriptor,
      layers: layers.map((l) => l.descriptor),
      annotations: { 'org.opencontainers.image.version': `1.0.0-${tag}` },
    }),
  );
  await layout.putManifest(manifest, MANIFEST, tag);
}

/** big = three random layers; inc-v1/v2 = the first two plus a small changed one; miner = miner-like. */
async function generate(): Promise<{ layoutDir: string; smallSize: number }> {
  const layoutDir = join(CACHE, 'layout');
  const marker = join(CACHE, 'small-size-miner');
  if (existsSync(join(layoutDir, 'index.json')) && existsSync(marker)) {
    return { layoutDir, smallSize: Number(readFileSync(marker, 'utf8')) };
  }
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const layout = new OciLayoutStore(layoutDir);
  const big = [];
  for (const [i, mb] of LAYER_MB.entries()) big.push(await randomLayer(layout, `big${i}`, mb, 8));
  await putImage(layout, big, 'big');
  const smallA = await randomLayer(layout, 'smallA', SMALL_MB, 4);
  const smallB = await randomLayer(layout, 'smallB', SMALL_MB, 4);
  const [b0, b1] = big;
  if (!b0 || !b1) throw new Error('layers missing');
  await putImage(layout, [b0, b1, smallA], 'inc-v1');
  await putImage(layout, [b0, b1, smallB], 'inc-v2');
  const miner = [];
  for (const index of MINER_IMAGE_PLAN.keys()) miner.push(await minerLikeLayer(layout, index));
  await putImage(layout, miner, 'miner');
  writeFileSync(marker, String(smallB.descriptor.size));
  return { layoutDir, smallSize: smallB.descriptor.size };
}

/** A pass-through proxy of our own that counts response body bytes. */
async function countingProxy(
  upstream: string,
): Promise<{ host: string; bytes: () => number; reset: () => void; close: () => Promise<void> }> {
  const target = new URL(upstream);
  let bytes = 0;
  const server = createServer((req, res) => {
    const out = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (chunk: Buffer) => (bytes += chunk.length));
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    bytes: () => bytes,
    reset: () => void (bytes = 0),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const noopRuntime: EngineRuntime = {
  kind: 'bench',
  prepare: async (release) => release,
  activate: async () => undefined,
  ensureRunning: async () => undefined,
  commit: async () => undefined,
};

function engineFor(store: ImageStore, stateDir: string, keyLine: string, tag: string): UpdateEngine {
  return new UpdateEngine({
    stateDir,
    store,
    reference: tag,
    channel: tag,
    verifier: statementVerifier({ trustedKeys: [parsePublicKey(keyLine)], threshold: 1, channel: tag }),
    selector: platformSelector(),
    stager: blobStoreStager({ stateDir, mode: 'full' }),
    runtime: noopRuntime,
    health: async () => undefined,
  });
}

/** Runs a program to completion; returns its CPU seconds (user+sys, children included) from /usr/bin/time. */
function timed(program: string, args: string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', program, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${program} failed: ${r.stderr}`);
  const [user, sys] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return (user ?? 0) + (sys ?? 0);
}

/** The baseline: `skopeo copy` of miner:TAG into an OCI layout under `work`, then `umoci raw unpack`. */
function skopeoThenUmoci(
  registryHost: string,
  tag: string,
  work: string,
): { seconds: number; cpuSeconds: number } {
  const started = process.hrtime.bigint();
  const layout = `${join(work, 'oci')}:${tag}`;
  const cpuSeconds =
    timed('skopeo', [
      'copy',
      '--quiet',
      '--insecure-policy',
      '--src-tls-verify=false',
      `docker://${registryHost}/miner:${tag}`,
      `oci:${layout}`,
    ]) + timed('umoci', ['raw', 'unpack', '--image', layout, join(work, 'rootfs')]);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds };
}

/** The layers of `tag` in the bench's layout, as blob paths in manifest order. */
async function layerBlobs(layoutDir: string, tag: string): Promise<string[]> {
  const fetched = await new OciLayoutStore(layoutDir).getManifest(tag);
  const parsed = fetched && parseManifest(fetched.bytes, fetched.descriptor.mediaType);
  if (parsed?.kind !== 'manifest') throw new Error(`no image manifest ${tag} in ${layoutDir}`);
  return parsed.manifest.layers.map((l) =>
    join(layoutDir, 'blobs', 'sha256', l.digest.slice('sha256:'.length)),
  );
}

/** GNU tar -xzf of every layer in order into `work`/rootfs, from local files: wall and CPU seconds. */
function gnuTarLocal(blobs: string[], work: string): { seconds: number; cpuSeconds: number } {
  const rootfs = join(work, 'rootfs');
  mkdirSync(rootfs);
  const started = process.hrtime.bigint();
  let cpuSeconds = 0;
  for (const blob of blobs) cpuSeconds += timed('tar', ['-xzf', blob, '-C', rootfs]);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** The images measured by 1. and 3. (generate() puts both in the layout). */
const IMAGES = [
  {
    tag: 'miner',
    label: `miner-like (${MINER_IMAGE_PLAN.reduce((a, l) => a + l.megabytes, 0)} MB, compresses ~3x)`,
  },
  { tag: 'big', label: `incompressible (${LAYER_MB.reduce((a, b) => a + b, 0)} MB of random bytes)` },
];

const runs = new RunDirs(join(CACHE, 'runs'));

/** A never-used directory for one run (support/run-dirs.ts), with nothing left dirty on disk. */
function freshRunDir(): string {
  const dir = runs.next();
  execFileSync('sync'); // the previous run's dirty pages are not flushed on this one's clock
  return dir;
}

interface Timings {
  ours: number[];
  oursCpu: number[];
  theirs: number[];
  theirsCpu: number[];
  /** GNU tar -xzf of the same layers from local disk. */
  tar: number[];
  tarCpu: number[];
}

const emptyTimings = (): Timings => ({
  ours: [],
  oursCpu: [],
  theirs: [],
  theirsCpu: [],
  tar: [],
  tarCpu: [],
});

/** Runs skopeo + umoci and the local GNU tar floor after one of our runs, and records both. */
function measureBaselines(t: Timings, host: string, tag: string, blobs: string[]): void {
  const baseline = skopeoThenUmoci(host, tag, freshRunDir());
  t.theirs.push(baseline.seconds);
  t.theirsCpu.push(baseline.cpuSeconds);
  const floor = gnuTarLocal(blobs, freshRunDir());
  t.tar.push(floor.seconds);
  t.tarCpu.push(floor.cpuSeconds);
}

function describeRun(t: Timings, run: number): string {
  const s = (v: number | undefined): string => (v ?? NaN).toFixed(2);
  return (
    `minerhaul ${s(t.ours[run])} s (cpu ${s(t.oursCpu[run])} s), ` +
    `skopeo+umoci ${s(t.theirs[run])} s (cpu ${s(t.theirsCpu[run])} s), ` +
    `local GNU tar -xzf ${s(t.tar[run])} s (cpu ${s(t.tarCpu[run])} s)`
  );
}

/** 1. Installs in this process (the first run pays the worker's and the JIT's warm-up, later ones not). */
async function installInProcess(
  host: string,
  tag: string,
  keyLine: string,
  blobs: string[],
): Promise<Timings> {
  const t = emptyTimings();
  for (let run = 0; run < RUNS; run++) {
    const work = freshRunDir();
    const started = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const result = await engineFor(
      openStore(`${host}/miner:${tag}`),
      join(work, 'state'),
      keyLine,
      tag,
    ).check();
    t.ours.push(Number(process.hrtime.bigint() - started) / 1e9);
    const cpu = process.cpuUsage(cpu0);
    t.oursCpu.push((cpu.user + cpu.system) / 1e6);
    if (result.outcome !== 'updated') throw new Error(`engine: ${result.outcome}`);
    measureBaselines(t, host, tag, blobs);
    console.log(`${tag} run ${run + 1}: ${describeRun(t, run)}`);
  }
  return t;
}

/** 3. Each install in a fresh process from the build, with the engine child's V8 flags (0508). */
function installInFreshProcesses(host: string, tag: string, keyLine: string, blobs: string[]): Timings {
  const installOnce = join(__dirname, 'support', 'install-once.js');
  if (!existsSync(join(__dirname, '..', 'updater', 'dist', 'unpack', 'layer-worker.js'))) {
    throw new Error('updater/dist is missing: run `npm run build` first');
  }
  const t = emptyTimings();
  for (let run = 0; run < RUNS; run++) {
    const work = freshRunDir();
    const started = process.hrtime.bigint();
    const child = spawnSync(
      process.execPath,
      [...ENGINE_CHILD_V8_FLAGS, installOnce, host, tag, keyLine, work],
      {
        encoding: 'utf8',
      },
    );
    if (child.status !== 0) throw new Error(`install-once failed: ${child.stderr}`);
    t.ours.push(Number(process.hrtime.bigint() - started) / 1e9);
    t.oursCpu.push((JSON.parse(child.stdout) as { cpuSeconds: number }).cpuSeconds);
    measureBaselines(t, host, tag, blobs);
    console.log(`${tag} fresh process run ${run + 1}: ${describeRun(t, run)}`);
  }
  return t;
}

async function main(): Promise<void> {
  const { layoutDir, smallSize } = await generate();
  const registry = await startRegistry();
  const proxy = await countingProxy(registry.url);
  const work = freshRunDir();
  const pair = generateKeyPair({ comment: 'bench' });
  const secretKey = decryptSecretKey(pair.secretKey);
  const keyLine = pair.publicKey;
  try {
    const registryStore = openStore(`${registry.host}/miner:big`);
    for (const tag of ['big', 'miner', 'inc-v1', 'inc-v2']) {
      execFileSync('skopeo', [
        'copy',
        '--quiet',
        '--insecure-policy',
        '--dest-tls-verify=false',
        `oci:${layoutDir}:${tag}`,
        `docker://${registry.host}/miner:${tag}`,
      ]);
      await signImage(registryStore, { reference: tag, secretKey, channel: tag });
    }

    const results = [];
    for (const image of IMAGES) {
      const blobs = await layerBlobs(layoutDir, image.tag);
      results.push({
        ...image,
        inProcess: await installInProcess(registry.host, image.tag, keyLine, blobs),
        fresh: installInFreshProcesses(registry.host, image.tag, keyLine, blobs),
      });
    }

    // 2. v1 -> v2 with one small layer changed, through the counting proxy.
    const stateDir = join(work, 'inc-state');
    const store = openStore(`${proxy.host}/miner:inc`, { identity: `${registry.host}/miner` });
    const retag = async (from: string): Promise<void> => {
      const m = await registryStore.getManifest(from);
      if (!m) throw new Error(`no ${from}`);
      await registryStore.putManifest(m.bytes, m.descriptor.mediaType, 'inc');
      await signImage(registryStore, { reference: 'inc', secretKey, channel: 'inc' });
    };
    await retag('inc-v1');
    await engineFor(store, stateDir, keyLine, 'inc').check();
    await retag('inc-v2');
    proxy.reset();
    const r2 = await engineFor(store, stateDir, keyLine, 'inc').check();
    if (r2.outcome !== 'updated') throw new Error(`engine v2: ${r2.outcome}`);
    const fetched = proxy.bytes();

    console.log(`${RUNS} runs per measurement, medians:`);
    for (const r of results) {
      console.log(
        `${r.label}: in-process minerhaul ${median(r.inProcess.ours).toFixed(2)} s ` +
          `(cpu ${median(r.inProcess.oursCpu).toFixed(2)} s), skopeo+umoci ${median(r.inProcess.theirs).toFixed(2)} s ` +
          `(cpu ${median(r.inProcess.theirsCpu).toFixed(2)} s); fresh process ${median(r.fresh.ours).toFixed(2)} s ` +
          `(cpu ${median(r.fresh.oursCpu).toFixed(2)} s), skopeo+umoci ${median(r.fresh.theirs).toFixed(2)} s`,
      );
      const tar = median([...r.inProcess.tar, ...r.fresh.tar]);
      const goal = 0.5 * median([...r.inProcess.theirs, ...r.fresh.theirs]);
      console.log(
        `${r.label}: GNU tar -xzf of the same layers from local disk ${tar.toFixed(2)} s ` +
          `(cpu ${median([...r.inProcess.tarCpu, ...r.fresh.tarCpu]).toFixed(2)} s); ` +
          `the goal's 0.5 x skopeo+umoci = ${goal.toFixed(2)} s = ${(goal / tar).toFixed(2)} x that local unpack`,
      );
    }
    console.log(`v1 -> v2: fetched ${fetched} bytes for a changed layer of ${smallSize} bytes`);
    for (const r of results) {
      console.log(
        `ratio fetch+unpack, ${r.tag}, in-process (minerhaul / skopeo+umoci): ` +
          `${(median(r.inProcess.ours) / median(r.inProcess.theirs)).toFixed(2)}`,
      );
      console.log(
        `ratio fetch+unpack, ${r.tag}, fresh process per install (minerhaul / skopeo+umoci): ` +
          `${(median(r.fresh.ours) / median(r.fresh.theirs)).toFixed(2)}`,
      );
      console.log(
        `ratio goal floor, ${r.tag} (0.5 x skopeo+umoci / local GNU tar -xzf; below 1 the goal asks for ` +
          `a fetch + verify + unpack faster than GNU tar's unpack alone): ` +
          `${((0.5 * median([...r.inProcess.theirs, ...r.fresh.theirs])) / median([...r.inProcess.tar, ...r.fresh.tar])).toFixed(2)}`,
      );
    }
    console.log(`ratio bytes fetched / changed layer: ${(fetched / smallSize).toFixed(4)}`);
  } finally {
    await proxy.close();
    await registry.stop();
    runs.removeAll();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
