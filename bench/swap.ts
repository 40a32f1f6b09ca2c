/**
 * Swap gap benchmark (docs/performance.md "Swap"). Run: `node -r ./bench/ts-register.js bench/swap.ts`.
 *
 * - docker: old miner's exit → new miner's start, from the Engine's own State.FinishedAt / State.StartedAt,
 *   for our create-before-stop swap (DockerRuntime) and for the naive stop-then-create-then-start, same images,
 *   same engine, alternating rounds. Goal: ratio ≤ 0.35.
 * - bubblewrap: old miner's exit (supervisor's record) → new miner answering HTTP, minus the miner's own
 *   start-up (the same bwrap command started directly, until it answers). Goal: overhead ≤ 50 ms.
 * Ratios are printed last.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { BubblewrapRuntime, DockerRuntime, type RuntimeRelease } from '@minerhaul/updater';
import { importTestImage, startDockerd } from '../test/support/dockerd';
import { freePort, minerGet, testMinerConfig, writeTestMinerTree } from '../test/support/test-miner';
import { makeTmpDir } from '../test/support/tmp-dir';

const ROUNDS = Number(process.env.SWAP_ROUNDS ?? 5);
/** Image payload, as in the measurement (157 MB): create cost grows with it (vfs copies it). */
const IMAGE_MB = Number(process.env.SWAP_IMAGE_MB ?? 150);
const POLL_DEADLINE_MS = 15_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Incompressible filler, written in 1 MiB chunks (never held whole in memory). */
function writePayload(path: string, megabytes: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < megabytes; i++) writeSync(fd, randomBytes(1024 * 1024));
  } finally {
    closeSync(fd);
  }
}

function digestFor(label: string): string {
  return `sha256:${Buffer.from(label).toString('hex').padEnd(64, '0').slice(0, 64)}`;
}

/** Polls /version every ~2 ms until it reports `version`; returns the wall-clock time it first did. */
async function firstServed(port: number, version: string): Promise<number> {
  const deadline = Date.now() + POLL_DEADLINE_MS;
  while (Date.now() < deadline) {
    const res = await minerGet(port, '/version');
    if (res?.status === 200 && res.body === version) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`miner ${version} never answered on port ${port}`);
}

async function benchDocker(root: string): Promise<{ ours: number; naive: number }> {
  const engine = await startDockerd();
  try {
    const port = await freePort();
    const images: string[] = [];
    for (const version of ['1', '2']) {
      const tree = writeTestMinerTree(join(root, `docker-rootfs-${version}`), { version, rootfs: true });
      writePayload(join(tree, 'opt', 'miner', 'payload.bin'), IMAGE_MB);
      images.push(
        await importTestImage(engine, tree, `bench-miner:${version}`, {
          entrypoint: ['/opt/miner/bin/miner'],
          env: ['MINER_DATA=/var/lib/miner', 'PATH=/bin'],
        }),
      );
    }
    const docker = new Docker({ socketPath: engine.socketPath });
    const gap = async (oldId: string, newId: string): Promise<number> => {
      const old = await docker.getContainer(oldId).inspect();
      const now = await docker.getContainer(newId).inspect();
      return Date.parse(now.State.StartedAt) - Date.parse(old.State.FinishedAt);
    };

    // Ours: DockerRuntime, prepare (create) outside the gap, activate (disarm + stop old, start new).
    const runtime = new DockerRuntime({
      socketPath: engine.socketPath,
      namePrefix: 'bench-ours',
      stopTimeoutSeconds: 5,
      settings: { env: [`MINER_PORT=${port}`], networkMode: 'host' },
    });
    // Naive: stop the old container, then create and start the new one.
    let naiveOld = await docker.createContainer({
      Image: images[0],
      Env: [`MINER_PORT=${port}`],
      HostConfig: { NetworkMode: 'host' },
    });
    const ours: number[] = [];
    const naive: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const version = String((round % 2) + 1);
      const release = (r: number, v: string): RuntimeRelease => ({
        digest: digestFor(`ours-${r}`),
        manifestDigest: digestFor(`ours-${r}`),
        version: v,
        sequence: r,
        docker: { imageRef: images[Number(v) - 1] as string },
        config: testMinerConfig(port),
      });
      // ours
      if (round === 0) {
        await runtime.activate(await runtime.prepare(release(-1, '2')));
        await firstServed(port, '2');
      }
      const before = await runtime.current();
      const prepared = await runtime.prepare(release(round, version));
      await runtime.activate(prepared);
      await firstServed(port, version);
      ours.push(await gap(before?.containerId as string, prepared.id));
      await runtime.commit(release(round, version));
      await runtime.stop();

      // naive
      await naiveOld.start().catch(() => undefined);
      await firstServed(port, '1');
      await naiveOld.stop({ t: 5 });
      const next = await docker.createContainer({
        Image: images[1],
        Env: [`MINER_PORT=${port}`],
        HostConfig: { NetworkMode: 'host' },
      });
      await next.start();
      await firstServed(port, '2');
      naive.push(await gap(naiveOld.id, next.id));
      await next.stop({ t: 5 });
      await naiveOld.remove({ force: true });
      naiveOld = await docker.createContainer({
        Image: images[0],
        Env: [`MINER_PORT=${port}`],
        HostConfig: { NetworkMode: 'host' },
      });
      await next.remove({ force: true });
      // ours again from a running state
      await runtime.ensureRunning(release(round, version));
      await firstServed(port, version);
    }
    await runtime.stop();
    console.log(`docker create-before-stop gaps (ms): ${ours.join(', ')}`);
    console.log(`docker naive stop-then-run gaps (ms): ${naive.join(', ')}`);
    return { ours: median(ours), naive: median(naive) };
  } finally {
    await engine.stop();
  }
}

async function benchBubblewrap(root: string): Promise<{ swap: number; bare: number; spawn: number }> {
  const port = await freePort();
  const runtime = new BubblewrapRuntime({
    stateDir: join(root, 'state'),
    dataDir: join(root, 'data'),
    stopGraceMs: 5_000,
  });
  const release = (version: string): RuntimeRelease => ({
    digest: digestFor(`bwrap-${version}`),
    manifestDigest: digestFor(`bwrap-${version}`),
    version,
    sequence: Number(version),
    bubblewrap: { releaseDir: writeTestMinerTree(join(root, `bwrap-${version}`), { version }), mode: 'slim' },
    config: testMinerConfig(port),
  });
  const releases = [release('1'), release('2')];
  const bareStart = async (command: string[]): Promise<number> => {
    const started = Date.now();
    const child = spawn(command[0] as string, command.slice(1), { stdio: 'ignore' });
    const served = await firstServed(port, '1');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    return served - started;
  };
  try {
    // The miner's own start-up: the exact command the supervisor runs, started directly. Rounds of bare
    // start and swap alternate so that cache warmth and machine load affect both alike.
    const prepared = await runtime.prepare(releases[0] as RuntimeRelease);
    const command = (prepared as unknown as { command: string[] }).command;
    await bareStart(command); // warm-up
    const bare: number[] = [];
    const swaps: number[] = [];
    const spawnGaps: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await bareStart(command));
      await runtime.activate(await runtime.prepare(releases[0] as RuntimeRelease));
      await firstServed(port, '1');
      const next = releases[1] as RuntimeRelease;
      await runtime.activate(await runtime.prepare(next));
      const served = await firstServed(port, next.version);
      const status = runtime.supervisor.readStatus();
      const exitedAt = Date.parse(status?.lastExit?.at ?? '');
      swaps.push(served - exitedAt);
      spawnGaps.push(Date.parse(status?.startedAt ?? '') - exitedAt);
      await runtime.stop();
    }
    console.log(`bubblewrap bare start-up (ms): ${bare.join(', ')}`);
    console.log(`bubblewrap old exit -> new serving (ms): ${swaps.join(', ')}`);
    console.log(`bubblewrap old exit -> new spawned by the supervisor (ms): ${spawnGaps.join(', ')}`);
    return { swap: median(swaps), bare: median(bare), spawn: median(spawnGaps) };
  } finally {
    await runtime.stop();
  }
}

async function main(): Promise<void> {
  const tmp = makeTmpDir('minerhaul-bench-swap-');
  try {
    const bwrap = await benchBubblewrap(tmp.path);
    const dock = await benchDocker(tmp.path);
    const overhead = bwrap.swap - bwrap.bare;
    console.log(`docker median gap: create-before-stop ${dock.ours} ms, naive ${dock.naive} ms`);
    console.log(`bubblewrap median: swap ${bwrap.swap} ms, miner start-up ${bwrap.bare} ms`);
    console.log(`bubblewrap median supervisor gap (old exit -> new spawn): ${bwrap.spawn} ms`);
    console.log(`bubblewrap exit -> serving minus bare start-up: ${overhead.toFixed(1)} ms (noisy)`);
    console.log(`bubblewrap agent overhead (old exit -> new spawn): ${bwrap.spawn} ms (goal <= 50 ms)`);
    console.log(
      `ratio docker swap gap (ours / naive): ${(dock.ours / dock.naive).toFixed(3)} (goal <= 0.35)`,
    );
  } finally {
    tmp.cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
