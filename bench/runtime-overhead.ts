// Runtime overhead (HIP3: what does running the miner in a container cost on constrained hardware?):
// the sample miner's work rate (`--bench N`: N blocks validated, each hashed and appended + fsynced)
// run bare, under bubblewrap with the updater's own slim sandbox arguments, and under Docker, in the
// same run, rounds alternating. Ratios bwrap/bare and docker/bare are printed last.
//
// Run: npm run build && node -r ./bench/ts-register.js bench/runtime-overhead.ts
// Env: MINERHAUL_BENCH_RUNS (rounds, default 3); OVERHEAD_BLOCKS and OVERHEAD_TX_PER_BLOCK for one custom
// workload instead of the three profiles below.
//
// All three run the same files: the slim image built by images/sample-miner/build.js, unpacked for
// this host's platform with the agent's unpacker, executed by the host's node. Docker gets an image
// made from those files (`docker import`) with the host's /usr bound read-only, as bubblewrap's slim
// mode does (decision 0701). Data directories are on the same host file system in every mode.
import { execFile, spawn } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '@minerhaul/registry-tools';
import {
  buildBwrapArgs,
  type HostPathKind,
  hostPlatform,
  readImageConfig,
  selectPlatformManifest,
  unpackRelease,
} from '@minerhaul/updater';
import { importTestImage, startDockerd, type TestDockerd } from '../test/support/dockerd';
import { requireTool } from '../test/support/require-tool';

const run = promisify(execFile);
interface Profile {
  name: string;
  blocks: number;
  txPerBlock: number;
}
/**
 * mixed: the miner's default block (~8 ms of hashing + one fsync); cpu: hashing dominates; disk: the
 * fsync dominates. OVERHEAD_BLOCKS / OVERHEAD_TX_PER_BLOCK replace them with one custom profile.
 */
const PROFILES: Profile[] =
  process.env.OVERHEAD_BLOCKS || process.env.OVERHEAD_TX_PER_BLOCK
    ? [
        {
          name: 'custom',
          blocks: positive('OVERHEAD_BLOCKS', 300),
          txPerBlock: positive('OVERHEAD_TX_PER_BLOCK', 256),
        },
      ]
    : [
        { name: 'mixed', blocks: 300, txPerBlock: 256 },
        { name: 'cpu', blocks: 30, txPerBlock: 4096 },
        { name: 'disk', blocks: 3000, txPerBlock: 1 },
      ];
const RUNS = positive('MINERHAUL_BENCH_RUNS', 3);
const RUN_TIMEOUT_MS = 300_000;
const ROOT = join(__dirname, '..');
/** Host directories that are either merged-/usr symlinks or real directories (bound read-only). */
const ROOT_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
const MODES = ['bare', 'bwrap', 'docker'] as const;
type Mode = (typeof MODES)[number];

interface BenchLine {
  blocks: number;
  seconds: number;
  blocksPerSecond: number;
  cpuSeconds: number;
}

interface Sample extends BenchLine {
  profile: string;
  mode: Mode;
  /** Process start to exit, start-up included (spawn, sandbox or container set-up). */
  wallSeconds: number;
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive whole number`);
  return Number(raw);
}

function inspectHostPath(path: string): HostPathKind {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(path) };
    return st.isDirectory() ? { type: 'dir' } : { type: 'file' };
  } catch {
    return undefined;
  }
}

/** Runs a command to its end (bounded), returning stdout; a non-zero exit throws with stderr. */
function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${cmd} exited ${code}: ${stderr.trim()}`));
    });
  });
}

function parseLine(stdout: string, profile: Profile): BenchLine {
  const line = stdout.trim().split('\n').pop() ?? '';
  const parsed = JSON.parse(line) as BenchLine;
  if (parsed.blocks !== profile.blocks) {
    throw new Error(`expected ${profile.blocks} blocks, the miner reported ${line}`);
  }
  return parsed;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  const bwrap = requireTool('bwrap');
  const work = join(ROOT, '.tmp', `bench-runtime-overhead-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  let engine: TestDockerd | undefined;
  try {
    // 1. The slim image, as a maintainer builds it.
    const layout = join(work, 'layout');
    await run(
      process.execPath,
      [
        join(ROOT, 'images/sample-miner/build.js'),
        '--version',
        '1.0.0',
        '--output',
        `oci-layout:${layout}:1.0.0`,
      ],
      { env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }, timeout: 120_000 },
    );
    const store = openStore(`oci-layout:${layout}`);
    const releaseDir = join(work, 'release');
    const unpacked = await unpackRelease(store, {
      reference: '1.0.0',
      destDir: releaseDir,
      verifier: undefined,
      platform: hostPlatform(),
    });
    const manifest = await selectPlatformManifest(store, unpacked.digest, hostPlatform());
    const { config } = await readImageConfig(store, manifest);

    // 2. Docker: the same files plus the host's root layout (symlinks, or mount points bound read-only).
    engine = await startDockerd();
    const rootfs = join(work, 'docker-rootfs');
    cpSync(releaseDir, rootfs, { recursive: true });
    const binds = ['-v', '/usr:/usr:ro', '-v', '/etc/ld.so.cache:/etc/ld.so.cache:ro'];
    mkdirSync(join(rootfs, 'usr'));
    mkdirSync(join(rootfs, 'etc'));
    writeFileSync(join(rootfs, 'etc', 'ld.so.cache'), '');
    for (const dir of ROOT_DIRS) {
      const kind = inspectHostPath(dir);
      if (kind?.type === 'symlink') symlinkSync(kind.target, join(rootfs, dir));
      else if (kind?.type === 'dir') {
        mkdirSync(join(rootfs, dir));
        binds.push('-v', `${dir}:${dir}:ro`);
      }
    }
    const image = await importTestImage(engine, rootfs, 'sample-miner-bench:1.0.0', {
      entrypoint: config.entrypoint,
      env: config.env,
    });
    const docker = requireTool('docker');
    const socket = engine.socketPath;

    /** One `--bench` run of `profile` in `mode`, on a fresh data directory. */
    const runOnce = async (mode: Mode, profile: Profile, dataDir: string): Promise<string> => {
      const args = ['--bench', String(profile.blocks)];
      const minerEnv = [...config.env, `MINER_TX_PER_BLOCK=${profile.txPerBlock}`];
      if (mode === 'bare') {
        const env = Object.fromEntries(
          minerEnv.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
        );
        return runCommand(join(releaseDir, 'opt/miner/bin/miner'), args, { ...env, MINER_DATA: dataDir });
      }
      if (mode === 'bwrap') {
        const bwrapArgs = buildBwrapArgs({
          mode: 'slim',
          releaseDir,
          config: { ...config, env: minerEnv, cmd: args },
          dataDir,
          hostPath: inspectHostPath,
        });
        return runCommand(bwrap, bwrapArgs, {});
      }
      const dockerArgs = ['-H', `unix://${socket}`, 'run', '--rm', '--network', 'none', ...binds];
      dockerArgs.push('-v', `${dataDir}:/var/lib/miner`, '-e', `MINER_TX_PER_BLOCK=${profile.txPerBlock}`);
      dockerArgs.push('-w', config.workingDir ?? '/opt/miner', image, ...args);
      return runCommand(docker, dockerArgs, process.env);
    };

    // 3. Rounds; within a round the modes rotate, so none always runs first on a warm or cold cache.
    const samples: Sample[] = [];
    let dataCount = 0;
    for (const profile of PROFILES) {
      for (let round = 0; round < RUNS; round += 1) {
        for (let i = 0; i < MODES.length; i += 1) {
          const mode = MODES[(round + i) % MODES.length] as Mode;
          dataCount += 1;
          const dataDir = join(work, `data-${dataCount}`);
          mkdirSync(dataDir);
          const started = process.hrtime.bigint();
          const stdout = await runOnce(mode, profile, dataDir);
          const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
          const sample = { profile: profile.name, mode, wallSeconds, ...parseLine(stdout, profile) };
          samples.push(sample);
          console.log(
            `${profile.name.padEnd(5)} round ${round + 1} ${mode.padEnd(6)} ` +
              `${sample.blocksPerSecond.toFixed(1).padStart(7)} blocks/s (${sample.seconds.toFixed(2)} s of work, ` +
              `cpu ${sample.cpuSeconds.toFixed(2)} s, wall ${wallSeconds.toFixed(2)} s)`,
          );
          rmSync(dataDir, { recursive: true, force: true });
        }
      }
    }

    // 4. Medians per profile and mode; the ratios last.
    const results = PROFILES.map((profile) => {
      const summary = Object.fromEntries(
        MODES.map((mode) => {
          const mine = samples.filter((s) => s.mode === mode && s.profile === profile.name);
          return [
            mode,
            {
              blocksPerSecond: median(mine.map((s) => s.blocksPerSecond)),
              // On a shared machine the fastest run is the one least disturbed by others.
              bestBlocksPerSecond: Math.max(...mine.map((s) => s.blocksPerSecond)),
              cpuMsPerBlock: median(mine.map((s) => (s.cpuSeconds * 1000) / s.blocks)),
              wallSeconds: median(mine.map((s) => s.wallSeconds)),
            },
          ];
        }),
      ) as Record<
        Mode,
        { blocksPerSecond: number; bestBlocksPerSecond: number; cpuMsPerBlock: number; wallSeconds: number }
      >;
      return {
        profile,
        summary,
        bwrapOverBare: summary.bwrap.blocksPerSecond / summary.bare.blocksPerSecond,
        dockerOverBare: summary.docker.blocksPerSecond / summary.bare.blocksPerSecond,
        bestBwrapOverBare: summary.bwrap.bestBlocksPerSecond / summary.bare.bestBlocksPerSecond,
        bestDockerOverBare: summary.docker.bestBlocksPerSecond / summary.bare.bestBlocksPerSecond,
      };
    });
    console.log(`
medians of ${RUNS} rounds:`);
    for (const r of results) {
      console.log(`${r.profile.name} (${r.profile.blocks} blocks x ${r.profile.txPerBlock} transactions):`);
      for (const mode of MODES) {
        const s = r.summary[mode];
        console.log(
          `  ${mode.padEnd(6)} ${s.blocksPerSecond.toFixed(1).padStart(7)} blocks/s ` +
            `(best ${s.bestBlocksPerSecond.toFixed(1)}), ` +
            `${s.cpuMsPerBlock.toFixed(2)} ms cpu/block, wall ${s.wallSeconds.toFixed(2)} s`,
        );
      }
    }
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench/results/runtime-overhead.json'),
      JSON.stringify({ runs: RUNS, results, samples }, null, 2) + '\n',
    );
    console.log('');
    for (const r of results) {
      const name = r.profile.name;
      console.log(
        `ratio bwrap/bare (${name} work rate): ${r.bwrapOverBare.toFixed(3)} median, ` +
          `${r.bestBwrapOverBare.toFixed(3)} best`,
      );
      console.log(
        `ratio docker/bare (${name} work rate): ${r.dockerOverBare.toFixed(3)} median, ` +
          `${r.bestDockerOverBare.toFixed(3)} best`,
      );
    }
  } finally {
    await engine?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 1;
});
