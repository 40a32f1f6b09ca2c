// Benchmark: signed reports accepted per second, SQLite and PostgreSQL, with the fleet simulator
// as the load on the same 2-core machine (server in one process, simulator in this one).
//   node -r ./bench/ts-register.js bench/fleet/reports-per-second.ts [seconds] [devices] [in-flight]
// Bounded: each run lasts `seconds` (default 20, at most 120). `in-flight` (default 256): requests the
// simulated devices have open at once, each on its own keep-alive connection (docs/decisions/0603).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SIMULATE_OPTIONS, type SimulateResult, simulateFleet } from '@minerhaul/fleet';
import { startPostgres } from '../../test/support/postgres';
import { makeTmpDir } from '../../test/support/tmp-dir';

const seconds = Math.min(Number(process.argv[2] ?? 20), 120);
const devices = Math.min(Number(process.argv[3] ?? 5000), 100_000);
const inFlight = Math.min(Number(process.argv[4] ?? 256), 512);
const root = join(__dirname, '..', '..');

function startServer(db: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['-r', join(__dirname, '..', 'ts-register.js'), join(__dirname, 'server-process.ts'), db],
    { stdio: ['pipe', 'pipe', 'inherit'], cwd: root },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start in 60 s')), 60_000);
    child.stdout?.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve({ url: d.toString().trim(), child });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms on Linux). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Measured extends SimulateResult {
  label: string;
  serverCpuUsPerReport: number;
  simulatorCpuUsPerReport: number;
  /** What two otherwise idle cores would sustain at these CPU costs. */
  projectedPerSecondOnTwoIdleCores: number;
}

async function measure(label: string, db: string): Promise<Measured> {
  const { url, child } = await startServer(db);
  try {
    const pid = child.pid ?? 0;
    // The machine is shared: wall-clock throughput depends on everyone else's load, CPU time per
    // report much less, so both are recorded.
    const serverCpu0 = cpuSecondsOf(pid);
    const simCpu0 = process.cpuUsage();
    const r = await simulateFleet({
      ...DEFAULT_SIMULATE_OPTIONS,
      url,
      devices,
      durationSeconds: seconds,
      concurrency: inFlight,
      ratePerSecond: 0,
      silentShare: 0,
    });
    const serverCpu = cpuSecondsOf(pid) - serverCpu0;
    const sim = process.cpuUsage(simCpu0);
    const simCpu = (sim.user + sim.system) / 1e6;
    const n = Math.max(r.accepted, 1);
    return {
      label,
      ...r,
      serverCpuUsPerReport: (serverCpu / n) * 1e6,
      simulatorCpuUsPerReport: (simCpu / n) * 1e6,
      projectedPerSecondOnTwoIdleCores: 2 / ((serverCpu + simCpu) / n),
    };
  } finally {
    child.stdin?.end();
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  const tmp = makeTmpDir('minerhaul-bench-fleet-');
  const pg = await startPostgres();
  try {
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; ${devices} devices, ${inFlight} requests in flight, ${seconds} s per store`,
    );
    const results = [
      await measure('sqlite', `sqlite:${join(tmp.path, 'fleet.db')}`),
      await measure('postgres', pg.createDatabase('fleet_bench')),
    ];
    for (const r of results) {
      console.log(
        `${r.label}: ${r.accepted} accepted in ${r.seconds.toFixed(1)} s = ${r.acceptedPerSecond.toFixed(0)}/s ` +
          `(refused ${r.refused}, failed ${r.failed}; latency p50 ${r.latencyMs.p50.toFixed(1)} ms, ` +
          `p95 ${r.latencyMs.p95.toFixed(1)} ms, p99 ${r.latencyMs.p99.toFixed(1)} ms); CPU per report: server ` +
          `${r.serverCpuUsPerReport.toFixed(0)} µs, simulator ${r.simulatorCpuUsPerReport.toFixed(0)} µs ` +
          `=> ${r.projectedPerSecondOnTwoIdleCores.toFixed(0)}/s on two idle cores`,
      );
    }
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(root, 'bench', 'results', 'fleet-reports-per-second.json'),
      JSON.stringify(
        { date: new Date().toISOString(), seconds, devices, inFlight, loadAverage: loadavg(), results },
        null,
        2,
      ),
    );
  } finally {
    pg.stop();
    tmp.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
