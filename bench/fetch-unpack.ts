// Fetch + verify + unpack benchmark (docs/performance.md "Fetch and unpack"), two measurements:
// 1. The engine installing a signed ~150 MB, 3-layer image from Debian's docker-registry on 127.0.0.1
//    into a release directory (HEAD, statement fetch + signify verification, manifest, then every
//    layer in ONE streaming pass: download -> hash -> tee to the blob store -> gunzip -> unpack),
//    against `skopeo copy docker://... oci:...` + `umoci raw unpack` of the same image, same run.
//    Goal: ratio <= 0.5.
// 2. v1 -> v2 where only one small layer changed: every byte the engine fetched (manifests,
//    statements, config, layers; counted by a proxy of our own) / that layer's size. Goal <= 1.02.
// Runtime and health check are no-ops: this measures fetching, not swapping (bench/swap.ts does that).
// CPU time (user+sys) is printed beside wall time: ours from process.cpuUsage() (thread pool included),
// skopeo's and umoci's from /usr/bin/time; it moves less than wall time on a shared machine.
// 3. The install of 1. in a fresh node process per run, from the build (bench/support/install-once.js),
//    as a device's engine child does it (0506), again beside skopeo copy + umoci raw unpack.
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

const CACHE = process.env.MINERHAUL_BENCH_CACHE ?? '/tmp/minerhaul-bench-fetch-unpack';
const RUNS = Number(process.env.MINERHAUL_BENCH_RUNS ?? 3);
const LAYER_MB = [60, 50, 40];
const SMALL_MB = 2;
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A gzip layer of GNU tar over `files` random files totalling `mb` MB, stored in `layout`. */
async function makeLayer(layout: OciLayoutStore, name: string, mb: number, files: number) {
  const src = join(CACHE, `src-${name}`);
  rmSync(src, { recursive: true, force: true });
  mkdirSync(join(src, 'opt', 'miner', name), { recursive: true });
  for (let f = 0; f < files; f++) {
    writeFileSync(
      join(src, 'opt', 'miner', name, `f${f}.bin`),
      randomBytes(Math.floor((mb * 1024 * 1024) / files)),
    );
  }
  const tar = join(CACHE, `${name}.tar`);
  execFileSync('tar', ['-C', src, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.']);
  const diffId = digestOf(readFileSync(tar));
  execFileSync('gzip', ['-1', '-n', '-f', tar]);
  const blob = readFileSync(`${tar}.gz`);
  const descriptor: Descriptor = { mediaType: GZIP, digest: digestOf(blob), size: blob.length };
  await layout.putBlob(descriptor, () => Readable.from([blob]));
  rmSync(src, { recursive: true, force: true });
  rmSync(`${tar}.gz`, { force: true });
  return { descriptor, diffId };
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

/** v1 = three big layers; v2 = the same first two plus a small changed one; v3 = v1 + SMALL_MB layer. */
async function generate(): Promise<{ layoutDir: string; smallSize: number }> {
  const layoutDir = join(CACHE, 'layout');
  const marker = join(CACHE, 'small-size');
  if (existsSync(join(layoutDir, 'index.json')) && existsSync(marker)) {
    return { layoutDir, smallSize: Number(readFileSync(marker, 'utf8')) };
  }
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const layout = new OciLayoutStore(layoutDir);
  const big = [];
  for (const [i, mb] of LAYER_MB.entries()) big.push(await makeLayer(layout, `big${i}`, mb, 8));
  await putImage(layout, big, 'big');
  const smallA = await makeLayer(layout, 'smallA', SMALL_MB, 4);
  const smallB = await makeLayer(layout, 'smallB', SMALL_MB, 4);
  const [b0, b1] = big;
  if (!b0 || !b1) throw new Error('layers missing');
  await putImage(layout, [b0, b1, smallA], 'inc-v1');
  await putImage(layout, [b0, b1, smallB], 'inc-v2');
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

/** The baseline: `skopeo copy` of miner:big into an OCI layout under `work`, then `umoci raw unpack`. */
function skopeoThenUmoci(registryHost: string, work: string): { seconds: number; cpuSeconds: number } {
  const started = process.hrtime.bigint();
  const layout = `${join(work, 'oci')}:big`;
  const cpuSeconds =
    timed('skopeo', [
      'copy',
      '--quiet',
      '--insecure-policy',
      '--src-tls-verify=false',
      `docker://${registryHost}/miner:big`,
      `oci:${layout}`,
    ]) + timed('umoci', ['raw', 'unpack', '--image', layout, join(work, 'rootfs')]);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const { layoutDir, smallSize } = await generate();
  const registry = await startRegistry();
  const proxy = await countingProxy(registry.url);
  const work = join(CACHE, 'work');
  const pair = generateKeyPair({ comment: 'bench' });
  const secretKey = decryptSecretKey(pair.secretKey);
  const keyLine = pair.publicKey;
  try {
    const registryStore = openStore(`${registry.host}/miner:big`);
    for (const tag of ['big', 'inc-v1', 'inc-v2']) {
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

    // 1. Install the big image: ours vs skopeo copy + umoci raw unpack.
    const ours: number[] = [];
    const theirs: number[] = [];
    // CPU seconds (user+sys) beside wall time: steadier than wall time on a shared machine.
    const oursCpu: number[] = [];
    const theirsCpu: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const t = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      const result = await engineFor(
        openStore(`${registry.host}/miner:big`),
        join(work, 'state'),
        keyLine,
        'big',
      ).check();
      ours.push(Number(process.hrtime.bigint() - t) / 1e9);
      const cpu = process.cpuUsage(cpu0);
      oursCpu.push((cpu.user + cpu.system) / 1e6);
      if (result.outcome !== 'updated') throw new Error(`engine: ${result.outcome}`);

      const baseline = skopeoThenUmoci(registry.host, work);
      theirsCpu.push(baseline.cpuSeconds);
      theirs.push(baseline.seconds);
      console.log(
        `run ${run + 1}: minerhaul ${ours[run]?.toFixed(2)} s (cpu ${oursCpu[run]?.toFixed(2)} s), ` +
          `skopeo+umoci ${theirs[run]?.toFixed(2)} s (cpu ${theirsCpu[run]?.toFixed(2)} s)`,
      );
    }

    // 3. Fresh process per install, from the build: every install on a device is a first run.
    const installOnce = join(__dirname, 'support', 'install-once.js');
    if (!existsSync(join(__dirname, '..', 'updater', 'dist', 'unpack', 'layer-worker.js'))) {
      throw new Error('updater/dist is missing: run `npm run build` first');
    }
    const fresh: number[] = [];
    const freshCpu: number[] = [];
    const theirsFresh: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const t = process.hrtime.bigint();
      // With the V8 flags the agent starts its engine child with (0508).
      const child = spawnSync(
        process.execPath,
        [...ENGINE_CHILD_V8_FLAGS, installOnce, registry.host, 'big', keyLine, work],
        {
          encoding: 'utf8',
        },
      );
      if (child.status !== 0) throw new Error(`install-once failed: ${child.stderr}`);
      fresh.push(Number(process.hrtime.bigint() - t) / 1e9);
      freshCpu.push((JSON.parse(child.stdout) as { cpuSeconds: number }).cpuSeconds);
      theirsFresh.push(skopeoThenUmoci(registry.host, work).seconds);
      console.log(
        `fresh process run ${run + 1}: minerhaul ${fresh[run]?.toFixed(2)} s (cpu ${freshCpu[run]?.toFixed(2)} s), ` +
          `skopeo+umoci ${theirsFresh[run]?.toFixed(2)} s`,
      );
    }

    // 2. v1 -> v2 with one small layer changed, through the counting proxy.
    rmSync(work, { recursive: true, force: true });
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

    const totalMb = LAYER_MB.reduce((a, b) => a + b, 0);
    const m = median(ours);
    const s = median(theirs);
    console.log(`image: ${totalMb} MB in ${LAYER_MB.length} gzip layers, ${RUNS} runs, medians:`);
    console.log(`minerhaul fetch+verify+unpack   ${m.toFixed(2)} s`);
    console.log(`skopeo copy + umoci raw unpack  ${s.toFixed(2)} s`);
    console.log(`v1 -> v2: fetched ${fetched} bytes for a changed layer of ${smallSize} bytes`);
    console.log(`ratio fetch+unpack (minerhaul / skopeo+umoci): ${(m / s).toFixed(2)}`);
    console.log(
      `CPU time medians: minerhaul ${median(oursCpu).toFixed(2)} s, skopeo+umoci ${median(theirsCpu).toFixed(2)} s`,
    );
    console.log(
      `ratio fetch+unpack, fresh process per install (minerhaul / skopeo+umoci): ` +
        `${(median(fresh) / median(theirsFresh)).toFixed(2)} ` +
        `(${median(fresh).toFixed(2)} s, cpu ${median(freshCpu).toFixed(2)} s / ${median(theirsFresh).toFixed(2)} s)`,
    );
    console.log(`ratio bytes fetched / changed layer: ${(fetched / smallSize).toFixed(4)}`);
  } finally {
    await proxy.close();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
