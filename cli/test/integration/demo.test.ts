import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdoptionReport } from '@minerhaul/fleet';
import type { AgentStatus, CycleSummary, HistoryEntry } from '@minerhaul/hotspot-agent';
import { requireTool } from '../../../test/support/require-tool';
import { makeTmpDir } from '../../../test/support/tmp-dir';

jest.setTimeout(240_000);

const CLI = join(__dirname, '..', '..', 'bin', 'minerhaul.js');

interface Step {
  id: string;
  ok: boolean;
  code?: string;
  detail: string;
  data?: { summary?: CycleSummary; published?: { version: string; sequence: number }; minerPort?: number };
}

interface Report {
  ok: boolean;
  dir: string;
  registry: { kind: string; ref: string };
  dashboard: { url: string; adminTokenFile: string };
  steps: Step[];
  skipped: string[];
  adoption: AdoptionReport;
}

interface Run {
  code: number | null;
  report: Report;
  stderr: string;
}

/** `minerhaul --json demo` as CI runs it: its own process, bounded in time. */
function runDemo(dir: string, extra: string[]): Promise<Run> {
  const args = [CLI, '--json', 'demo', '--non-interactive', '--no-install', '--dir', dir, ...extra];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 200_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, report: JSON.parse(stdout) as Report, stderr });
      } catch {
        reject(new Error(`no JSON report (exit ${code}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** Processes whose command line names `dir` (the demo's services, the miner's supervisor, bwrap). */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(`${dir}/`)) found.push(`${pid} ${cmdline}`);
    } catch {
      // gone
    }
  }
  return found;
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

const step = (run: Run, id: string): Step => {
  const s = run.report.steps.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no step ${id}: ${JSON.stringify(run.report.steps)}`);
  return s;
};

/**
 * The README's main command end to end, with the real programs: docker-registry (or the OCI layout
 * fallback), `minerhaul build/push/promote`, `fleet serve` on SQLite, the agent daemon on bubblewrap
 * and the sample miner. Needs `npm run build` (the demo runs the compiled CLI and agent).
 */
describe('minerhaul demo (end to end)', () => {
  const tmp = makeTmpDir('demo-e2e-');
  afterAll(() => tmp.cleanup());

  beforeAll(() => {
    requireTool('bwrap');
    requireTool('docker-registry');
    for (const built of [
      'cli/dist/main.js',
      'hotspot-agent/dist/agent-main.js',
      'fleet/dist/fleet-serve.js',
    ]) {
      if (!existsSync(join(__dirname, '..', '..', '..', built))) {
        throw new Error(`${built} is missing: run npm run build first`);
      }
    }
  });

  describe('when run non-interactively with Debian’s registry', () => {
    const dir = join(tmp.path, 'registry-run');
    let run: Run;
    beforeAll(async () => {
      run = await runDemo(dir, ['--registry', 'docker-registry']);
    });

    it('passes every step and exits 0', () => {
      expect({ code: run.code, failed: run.report.steps.filter((s) => !s.ok) }).toEqual({
        code: 0,
        failed: [],
      });
      expect(run.report.steps.map((s) => s.id)).toEqual([
        'environment',
        'keys',
        'build',
        'registry',
        'fleet',
        'v1',
        'v2',
        'v3',
        'v4',
        'adoption',
        'teardown',
      ]);
      expect(run.report.registry.kind).toBe('docker-registry');
      expect(run.report.registry.ref).toMatch(/^127\.0\.0\.1:\d+\/sample-miner:stable$/);
    });

    it('shows the agent taking v1, then v2, with rising sequences', () => {
      expect(step(run, 'v1').data?.summary).toMatchObject({
        outcome: 'updated',
        release: { version: '1.0.0' },
      });
      expect(step(run, 'v2').data?.summary).toMatchObject({
        outcome: 'updated',
        release: { version: '2.0.0' },
      });
      const sequences = ['v1', 'v2', 'v3', 'v4'].map((id) => step(run, id).data?.published?.sequence);
      expect(sequences).toEqual([1, 2, 3, 4]);
    });

    it('refuses v3 with E_SIGNATURE and rolls v4 back with E_HEALTH', () => {
      expect(step(run, 'v3').data?.summary).toMatchObject({ outcome: 'failed', errorCode: 'E_SIGNATURE' });
      expect(step(run, 'v4').data?.summary).toMatchObject({ outcome: 'rolled-back', errorCode: 'E_HEALTH' });
    });

    it("records in the agent's own state: v2 current, one rollback, the four outcomes in order", () => {
      const state = join(dir, 'agent', 'state', 'agent');
      const status = JSON.parse(readFileSync(join(state, 'status.json'), 'utf8')) as AgentStatus;
      expect(status.current?.version).toBe('2.0.0');
      expect(status.rollbackCount).toBe(1);
      const history = JSON.parse(readFileSync(join(state, 'history.json'), 'utf8')) as HistoryEntry[];
      expect(history.map((h) => [h.outcome, h.release?.version ?? h.errorCode])).toEqual([
        ['updated', '1.0.0'],
        ['updated', '2.0.0'],
        ['failed', 'E_SIGNATURE'],
        ['rolled-back', 'E_HEALTH'],
      ]);
    });

    it('never ran v3: the miners that served were 1.0.0, 2.0.0, 4.0.0, then 2.0.0 again, on one chain', () => {
      const log = readFileSync(join(dir, 'agent', 'state', 'bubblewrap', 'miner.stderr.log'), 'utf8');
      const starts = [...log.matchAll(/miner: (\S+) \(\S+\) serving on 127\.0\.0\.1:(\d+), height (\d+),/g)];
      expect(starts.map((m) => m[1])).toEqual(['1.0.0', '2.0.0', '4.0.0', '2.0.0']);
      // Each on the port the demo chose, passed through the agent's runtime.env.
      expect(new Set(starts.map((m) => Number(m[2])))).toEqual(new Set([step(run, 'v1').data?.minerPort]));
      // The data directory outlives every release: the chain grows across the updates.
      const heights = starts.map((m) => Number(m[3]));
      expect(heights).toEqual([...heights].sort((a, b) => a - b));
      expect(heights[3]).toBeGreaterThan(0);
    });

    it("shows the device on v2 with one rollback in the fleet's adoption view", () => {
      const { adoption } = run.report;
      expect(adoption.totals).toMatchObject({ devices: 1, rolledBack: 1 });
      expect(adoption.byVersion).toEqual([
        expect.objectContaining({ version: '2.0.0', devices: 1, default: 1 }),
      ]);
      expect(adoption.rolledBack).toEqual([
        expect.objectContaining({ version: '2.0.0', rollbackCount: 1, lastError: 'E_HEALTH' }),
      ]);
    });

    it('leaves nothing running: no process names the demo directory, fleet and registry are gone', async () => {
      expect(processesNaming(dir)).toEqual([]);
      expect(await refused(`${run.report.dashboard.url}/healthz`)).toBe(true);
      expect(await refused(`http://${run.report.registry.ref.split('/')[0]}/v2/`)).toBe(true);
      const supervisor = JSON.parse(
        readFileSync(join(dir, 'agent', 'state', 'bubblewrap', 'status.json'), 'utf8'),
      ) as { phase?: string };
      expect(supervisor.phase).toBe('stopped');
    });
  });

  describe('when publishing to an OCI layout directory instead of a registry', () => {
    const dir = join(tmp.path, 'layout-run');
    let run: Run;
    beforeAll(async () => {
      run = await runDemo(dir, ['--registry', 'oci-layout']);
    });

    it('shows the same outcomes and stops everything', () => {
      expect(run.code).toBe(0);
      expect(run.report.registry).toEqual({ kind: 'oci-layout', ref: `oci-layout:${dir}/published:stable` });
      expect(['v1', 'v2', 'v3', 'v4'].map((id) => step(run, id).data?.summary?.errorCode ?? 'ok')).toEqual([
        'ok',
        'ok',
        'E_SIGNATURE',
        'E_HEALTH',
      ]);
      expect(run.report.adoption.rolledBack).toEqual([
        expect.objectContaining({ version: '2.0.0', rollbackCount: 1 }),
      ]);
      expect(processesNaming(dir)).toEqual([]);
    });
  });
});
