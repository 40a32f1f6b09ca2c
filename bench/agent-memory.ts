/**
 * Agent idle memory and CPU (docs/performance.md "Agent"). Run after `npm run build`:
 *   node -r ./bench/ts-register.js bench/agent-memory.ts
 * Starts, in the same run: a bare `node` process, the agent's light entry (hotspot-agent/bin/
 * minerhaul-agent.js run) on a bubblewrap config with and without the local API, and `minerhaul agent
 * run` through the full CLI. The source is a closed 127.0.0.1 port, so the first check fails at once
 * and the agent sits idle in backoff, as a device does between checks. Reads VmRSS from
 * /proc/<pid>/status after a settle time, then CPU (utime+stime from /proc/<pid>/stat) over an idle
 * window. Prints the ratios to bare node last (goal ≤ 1.3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '@minerhaul/signing';
import { makeTmpDir } from '../test/support/tmp-dir';

const ROOT = join(__dirname, '..');
const SETTLE_MS = Number(process.env.AGENT_BENCH_SETTLE_MS ?? 6000);
const IDLE_WINDOW_MS = Number(process.env.AGENT_BENCH_IDLE_MS ?? 10_000);
const CLOCK_TICKS = 100; // USER_HZ on Linux

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is field 14, stime 15 (proc(5)).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Sample {
  name: string;
  rssMiB: number;
  cpuPercent: number;
}

async function measure(name: string, child: ChildProcess): Promise<Sample> {
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    if (child.exitCode !== null || child.pid === undefined)
      throw new Error(`${name} exited early (${child.exitCode})`);
    const rss = rssKiB(child.pid);
    const before = cpuTicks(child.pid);
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const cpu = ((cpuTicks(child.pid) - before) / CLOCK_TICKS / (IDLE_WINDOW_MS / 1000)) * 100;
    return { name, rssMiB: rss / 1024, cpuPercent: cpu };
  } finally {
    // Wait for the exit (bounded): the agent writes its status while stopping.
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}

async function main(): Promise<void> {
  const agentEntry = join(ROOT, 'hotspot-agent', 'bin', 'minerhaul-agent.js');
  const cliEntry = join(ROOT, 'cli', 'bin', 'minerhaul.js');
  if (
    !existsSync(join(ROOT, 'hotspot-agent', 'dist', 'agent-main.js')) ||
    !existsSync(join(ROOT, 'cli', 'dist', 'main.js'))
  ) {
    throw new Error('build first: npm run build');
  }
  const tmp = makeTmpDir('agent-bench-');
  try {
    const trustLine = generateKeyPair({}).publicKey.split('\n')[1] ?? '';
    const base = {
      stateDir: join(tmp.path, 'state'),
      defaultSource: { ref: '127.0.0.1:1/vendor/miner:stable' },
      trust: { keys: [trustLine] },
      runtime: { kind: 'bubblewrap', dataDir: join(tmp.path, 'data') },
      schedule: { jitterSeconds: 0 },
    };
    const plain = join(tmp.path, 'plain.json');
    const withApi = join(tmp.path, 'api.json');
    writeFileSync(plain, JSON.stringify(base));
    writeFileSync(
      withApi,
      JSON.stringify({ ...base, stateDir: join(tmp.path, 'state-api'), api: { listen: '127.0.0.1:0' } }),
    );
    const quiet = {
      stdio: 'ignore' as const,
      env: { ...process.env, MINERHAUL_LOG_LEVEL: 'warn' },
    };
    // One at a time: the machine's two cores are shared, and RSS must not depend on the others.
    const samples: Sample[] = [];
    samples.push(
      await measure('bare node', spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], quiet)),
    );
    samples.push(
      await measure(
        'agent (bubblewrap)',
        spawn(process.execPath, [agentEntry, 'run', '--config', plain], quiet),
      ),
    );
    samples.push(
      await measure(
        'agent + local API',
        spawn(process.execPath, [agentEntry, 'run', '--config', withApi], quiet),
      ),
    );
    samples.push(
      await measure(
        'minerhaul agent run (CLI)',
        spawn(process.execPath, [cliEntry, 'agent', 'run', '--config', plain], quiet),
      ),
    );
    const bare = samples[0]?.rssMiB ?? NaN;
    for (const s of samples) {
      process.stdout.write(
        `${s.name.padEnd(28)} RSS ${s.rssMiB.toFixed(1).padStart(6)} MiB   idle CPU ${s.cpuPercent.toFixed(2)} %\n`,
      );
    }
    for (const s of samples.slice(1)) {
      process.stdout.write(`ratio ${s.name} / bare node: ${(s.rssMiB / bare).toFixed(2)} (goal ≤ 1.30)\n`);
    }
  } finally {
    tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
