import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AdoptionReport } from '@minerhaul/fleet';
import { type CycleSummary, validateAgentConfig } from '@minerhaul/hotspot-agent';
import { type CliIo, main } from '@minerhaul/cli';
import { MinerhaulError, isMinerhaulError } from '@minerhaul/signing';
import { fetchAdoption, formatAdoptionTable } from '../src/demo/adoption-table';
import { AgentApi, demoAgentConfig } from '../src/demo/agent-start';
import { waitFor } from '../src/demo/bounded-wait';
import { parseDemoOptions } from '../src/demo/demo-options';
import { demoLayout } from '../src/demo/demo-paths';
import { type EnvironmentProbe, planEnvironment } from '../src/demo/environment-plan';
import { findProgram, probeEnvironment } from '../src/demo/environment-probe';
import { findDemoProcesses, listProcesses, type ProcessEntry } from '../src/demo/leftover-processes';
import { MinerProbe } from '../src/demo/miner-probe';
import { chooseMinerPort } from '../src/demo/miner-port';
import { shellLine } from '../src/demo/minerhaul-cli';
import { expectAdoption, expectRefused, expectRolledBack, expectTaken } from '../src/demo/outcome-checks';
import { cliFailure, lastJsonLine, runCommand } from '../src/demo/run-command';
import { startDemoRegistry } from '../src/demo/registry-start';
import { ServiceProcesses } from '../src/demo/service-processes';
import { holdsBlob } from '../src/demo/state-inspect';
import { StepRunner } from '../src/demo/step-runner';
import { Teardown, installSignalHandlers } from '../src/demo/teardown';
import { makeTmpDir } from '../../test/support/tmp-dir';

/** The error `fn` throws (sync or async), for asserting on its code. */
async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  const err = await caught(fn);
  return isMinerhaulError(err) ? err.code : `not a MinerhaulError: ${String(err)}`;
}

function captureIo(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      env: {},
      stdin: Readable.from([]),
      stdoutIsTty: false,
    },
    out: () => out,
    err: () => err,
  };
}

const tmp = makeTmpDir('demo-unit-');
afterAll(() => tmp.cleanup());

describe('minerhaul demo (command line)', () => {
  describe('when the flags are wrong', () => {
    it.each([
      [['demo', '--registry', 'ftp']],
      [['demo', '--keep', '--non-interactive']],
      [['demo', '--dir', '']],
    ])('refuses %j with E_CONFIG before starting anything', async (args) => {
      const c = captureIo();
      expect(await main(['node', 'minerhaul', '--json', ...args], c.io)).toBe(2);
      expect(JSON.parse(c.err()).error.code).toBe('E_CONFIG');
      expect(c.out()).toBe('');
    });
  });

  describe('when --dir names a directory that is not empty', () => {
    it('refuses with E_CONFIG and leaves the directory alone', async () => {
      const dir = join(tmp.path, 'used');
      mkdirSync(dir);
      writeFileSync(join(dir, 'keep-me'), 'x');
      const c = captureIo();
      expect(await main(['node', 'minerhaul', 'demo', '--dir', dir], c.io)).toBe(2);
      expect(c.err()).toMatch(/^error\[E_CONFIG\]: --dir .* is not empty/);
    });
  });
});

describe('minerhaul demo on a machine without bubblewrap', () => {
  it('fails the environment step with E_RUNTIME, runs no other step but the teardown, keeps --dir', async () => {
    const dir = join(tmp.path, 'no-bwrap');
    const c = captureIo();
    c.io.env = { PATH: join(tmp.path, 'empty-path') };
    const code = await main(['node', 'minerhaul', '--json', 'demo', '--no-install', '--dir', dir], c.io);
    expect(code).toBe(1);
    const report = JSON.parse(c.out()) as {
      ok: boolean;
      dirKept: boolean;
      steps: Array<{ id: string; ok: boolean; code?: string; detail: string }>;
      skipped: string[];
    };
    expect(report.steps.map((s) => [s.id, s.ok, s.code])).toEqual([
      ['environment', false, 'E_RUNTIME'],
      ['teardown', true, undefined],
    ]);
    expect(report.steps[0]?.detail).toMatch(/bubblewrap \(bwrap\) is not installed .*--no-install/);
    expect(report.skipped).toEqual([
      'keys',
      'build',
      'registry',
      'fleet',
      'v1',
      'v2',
      'v3',
      'v4',
      'adoption',
    ]);
    expect(report).toMatchObject({ ok: false, dirKept: true });
    expect(JSON.parse(c.err()).error.code).toBe('E_RUNTIME');
  });
});

describe('parseDemoOptions', () => {
  it('defaults to auto registry, installing, a temporary directory', () => {
    expect(parseDemoOptions({})).toEqual({
      keep: false,
      nonInteractive: false,
      dir: undefined,
      registry: 'auto',
      install: true,
    });
  });

  it('resolves a relative --dir against the current directory and honours --no-install', () => {
    expect(parseDemoOptions({ dir: 'demo', install: false, registry: 'oci-layout' }, '/srv')).toMatchObject({
      dir: '/srv/demo',
      install: false,
      registry: 'oci-layout',
    });
  });
});

describe('planEnvironment', () => {
  const ready: EnvironmentProbe = {
    nodeMajor: 20,
    isRoot: true,
    hasAptGet: true,
    programs: { bwrap: '/usr/bin/bwrap', 'docker-registry': '/usr/bin/docker-registry' },
    sandboxNode: '/usr/bin/node',
    missingModules: [],
    missingBuilds: [],
    hasTypescript: true,
    hasPackageLock: true,
  };
  const auto = { install: true, registry: 'auto' as const };

  it('plans nothing on a ready machine and uses docker-registry', () => {
    expect(planEnvironment(ready, auto)).toEqual({
      aptPackages: [],
      npmInstall: false,
      build: false,
      registry: 'docker-registry',
      notes: [],
      blockers: [],
    });
  });

  it.each([
    ['bwrap missing, root', { programs: { 'docker-registry': '/r' } }, auto, ['bubblewrap']],
    ['registry missing, root', { programs: { bwrap: '/b' } }, auto, ['docker-registry']],
    ['both missing, root', { programs: {} }, auto, ['bubblewrap', 'docker-registry']],
    [
      'registry missing, oci-layout asked',
      { programs: { bwrap: '/b' } },
      { ...auto, registry: 'oci-layout' },
      [],
    ],
  ] as const)('when %s, installs %j with apt-get', (_name, patch, options, packages) => {
    const plan = planEnvironment({ ...ready, ...patch }, options);
    expect(plan.aptPackages).toEqual(packages);
    expect(plan.blockers).toEqual([]);
  });

  it('falls back to an OCI layout when docker-registry cannot be installed (not root)', () => {
    const plan = planEnvironment({ ...ready, isRoot: false, programs: { bwrap: '/b' } }, auto);
    expect(plan).toMatchObject({ registry: 'oci-layout', aptPackages: [], blockers: [] });
    expect(plan.notes.join()).toMatch(/not root/);
  });

  it('says apt-get failed, and installs nothing again, when re-planning after an install', () => {
    const plan = planEnvironment(
      { ...ready, programs: { bwrap: '/b' } },
      { ...auto, installAttempted: true },
    );
    expect(plan.aptPackages).toEqual([]);
    expect(plan.notes.join()).toMatch(/apt-get could not install it/);
  });

  it.each([
    [
      'bwrap missing without root',
      { isRoot: false, programs: { 'docker-registry': '/r' } },
      auto,
      'E_RUNTIME',
    ],
    [
      'bwrap missing with --no-install',
      { programs: { 'docker-registry': '/r' } },
      { ...auto, install: false },
      'E_RUNTIME',
    ],
    [
      'docker-registry demanded but missing',
      { hasAptGet: false, programs: { bwrap: '/b' } },
      { ...auto, registry: 'docker-registry' },
      'E_REGISTRY',
    ],
    ['node too old', { nodeMajor: 18 }, auto, 'E_CONFIG'],
    ['no node the sandbox can see', { sandboxNode: undefined }, auto, 'E_RUNTIME'],
    [
      'npm packages missing, --no-install',
      { missingModules: ['express'] },
      { ...auto, install: false },
      'E_CONFIG',
    ],
    ['not built and no typescript', { missingBuilds: ['x'], hasTypescript: false }, auto, 'E_CONFIG'],
  ] as const)('when %s, blocks with %s', (_name, patch, options, code) => {
    const plan = planEnvironment({ ...ready, ...patch } as EnvironmentProbe, options);
    expect(plan.blockers.map((b) => b.code)).toContain(code);
  });

  it('runs npm ci and a build when packages are missing and installing is allowed', () => {
    expect(
      planEnvironment({ ...ready, missingModules: ['express'], missingBuilds: ['d'] }, auto),
    ).toMatchObject({
      npmInstall: true,
      build: true,
      blockers: [],
    });
  });
});

describe('demoAgentConfig', () => {
  it("is a valid agent config (the agent's own schema) on bubblewrap with an http health check", () => {
    const layout = demoLayout('/tmp/demo-x');
    const config = validateAgentConfig(
      demoAgentConfig({
        layout,
        channelRef: '127.0.0.1:5000/sample-miner:stable',
        fleetUrl: 'http://127.0.0.1:9000',
        minerPort: 18080,
        apiPort: 17373,
      }),
    );
    expect(config.runtime).toMatchObject({
      kind: 'bubblewrap',
      mode: 'slim',
      dataDir: layout.minerData,
      env: { MINER_PORT: '18080' },
    });
    expect(config.health).toMatchObject({ kind: 'http', url: 'http://127.0.0.1:18080/health' });
    expect(config.trust.keys).toEqual([layout.keys.maintainerPublic]);
    expect(config.api?.listen).toBe('127.0.0.1:17373');
    expect(config.schedule?.jitterSeconds).toBe(0);
  });
});

describe('outcome checks', () => {
  const release = (version: string, sequence = 1) => ({
    digest: 'sha256:' + 'a'.repeat(64),
    manifestDigest: 'sha256:' + 'b'.repeat(64),
    version,
    sequence,
  });
  const updated = (version: string): CycleSummary => ({ outcome: 'updated', release: release(version) });
  const refused: CycleSummary = { outcome: 'failed', errorCode: 'E_SIGNATURE', error: 'untrusted' };
  const rolledBack: CycleSummary = { outcome: 'rolled-back', errorCode: 'E_HEALTH', error: 'unhealthy' };
  const refusal = {
    summary: refused,
    minerVersion: '2.0.0',
    uptimeBefore: 10,
    uptimeAfter: 12,
    layerFetched: false,
  };

  describe('expectTaken', () => {
    it('accepts an update to the version the miner then serves', () => {
      expect(expectTaken('1.0.0', updated('1.0.0'), '1.0.0')).toMatch(/installed 1\.0\.0/);
    });

    it.each([
      ['a refusal', 'E_SIGNATURE', refused, '1.0.0'],
      ['another version', 'E_RUNTIME', updated('9.9.9'), '1.0.0'],
      ['an update the miner does not show', 'E_RUNTIME', updated('1.0.0'), '0.9.0'],
      ['up-to-date', 'E_RUNTIME', { outcome: 'up-to-date' } as CycleSummary, '1.0.0'],
    ])('refuses %s with %s', async (_n, code, summary, miner) => {
      expect(await codeOf(() => expectTaken('1.0.0', summary, miner))).toBe(code);
    });
  });

  describe('expectRefused', () => {
    it('accepts E_SIGNATURE with no layer fetched and the old miner still up', () => {
      expect(expectRefused('3.0.0', '2.0.0', refusal)).toMatch(/refused with E_SIGNATURE/);
    });

    it.each([
      ['an installed release', { summary: updated('3.0.0') }],
      ['another error', { summary: { outcome: 'failed', errorCode: 'E_REGISTRY' } as CycleSummary }],
      ['a downloaded layer', { layerFetched: true }],
      ['another version serving', { minerVersion: '3.0.0' }],
      ['a miner restart', { uptimeAfter: 1 }],
      ['a miner that did not answer', { uptimeAfter: undefined }],
    ])('fails with E_SIGNATURE on %s', async (_n, patch) => {
      expect(await codeOf(() => expectRefused('3.0.0', '2.0.0', { ...refusal, ...patch }))).toBe(
        'E_SIGNATURE',
      );
    });
  });

  describe('expectRolledBack', () => {
    it('accepts a rollback with E_HEALTH, the old version serving, one rollback counted', () => {
      expect(expectRolledBack('4.0.0', '2.0.0', rolledBack, '2.0.0', 1)).toMatch(/rolled back/);
    });

    it.each([
      ['an installed release', updated('4.0.0'), '2.0.0', 1],
      ['the new version serving', rolledBack, '4.0.0', 1],
      ['no rollback counted', rolledBack, '2.0.0', 0],
    ] as const)('fails with E_HEALTH on %s', async (_n, summary, miner, count) => {
      expect(await codeOf(() => expectRolledBack('4.0.0', '2.0.0', summary, miner, count))).toBe('E_HEALTH');
    });
  });

  describe('expectAdoption', () => {
    type DeviceEntry = AdoptionReport['rolledBack'][number];
    const device: DeviceEntry = {
      deviceId: 'dev1',
      agentVersion: '0.1.0',
      sourceKind: 'default',
      sourceRef: 'r',
      version: '2.0.0',
      phase: 'rolled-back',
      status: 'rolled-back',
      lastError: 'E_HEALTH',
      lastSeen: '2026-01-01T00:00:00.000Z',
      rollbackCount: 1,
    };
    const adoption = (patch: Partial<AdoptionReport> = {}): AdoptionReport =>
      ({
        generatedAt: '2026-01-01T00:00:00.000Z',
        silentAfterSeconds: 60,
        totals: { devices: 1, ok: 0, updating: 0, failing: 0, rolledBack: 1, silent: 0 },
        bySource: { default: 1, custom: 0 },
        byVersion: [
          {
            version: '2.0.0',
            devices: 1,
            default: 1,
            custom: 0,
            ok: 0,
            updating: 0,
            failing: 0,
            rolledBack: 1,
          },
        ],
        series: { bucketSeconds: 5, buckets: [], versions: [], sources: { default: [], custom: [] } },
        failing: [],
        rolledBack: [device],
        silent: [],
        ...patch,
      }) as AdoptionReport;

    it('accepts one device on 2.0.0 with one rollback', () => {
      expect(expectAdoption(adoption(), 'dev1', '2.0.0', 1)).toMatch(/1 device on 2\.0\.0/);
    });

    it.each([
      ['another device id', adoption(), 'dev2'],
      ['no rollback', adoption({ rolledBack: [{ ...device, rollbackCount: 0 }] }), 'dev1'],
      ['the device on v4', adoption({ rolledBack: [{ ...device, version: '4.0.0' }] }), 'dev1'],
      ['no device counted', adoption({ byVersion: [] }), 'dev1'],
    ])('refuses %s', async (_n, report, id) => {
      expect(await codeOf(() => expectAdoption(report, id, '2.0.0', 1))).toBe('E_RUNTIME');
    });

    it('formats the adoption table with aligned columns, totals and the rolled-back device', () => {
      const lines = formatAdoptionTable(adoption()).split('\n');
      expect(lines[0]).toBe('VERSION  DEVICES  DEFAULT  CUSTOM  OK  UPDATING  FAILING  ROLLED BACK');
      expect(lines[1]).toBe('2.0.0          1        1       0   0         0        0            1');
      expect(lines[2]).toMatch(/^-+ {2}-+/);
      expect(lines[3]).toMatch(/^total +1 +1 +0 +0 +0 +0 +1$/);
      expect(lines[4]).toBe(
        'device dev1 (default source): 2.0.0, rolled-back, 1 rollback(s), last error E_HEALTH',
      );
    });
  });
});

describe('StepRunner', () => {
  it('prints ✔ and ✘ with the code, skips what follows a failure but not an `always` step', async () => {
    let printed = '';
    let clock = 0;
    const runner = new StepRunner({ print: (t) => (printed += t), now: () => (clock += 500) });
    expect(await runner.step('a', 'first', async () => ({ detail: 'fine', commands: ['minerhaul x'] }))).toBe(
      true,
    );
    expect(
      await runner.step('b', 'second', async () => {
        throw new MinerhaulError('E_SIGNATURE', 'bad signature');
      }),
    ).toBe(false);
    expect(await runner.step('c', 'third', async () => ({ detail: 'never' }))).toBe(false);
    expect(await runner.step('d', 'cleanup', async () => ({ detail: 'done' }), { always: true })).toBe(true);
    expect(runner.results.map((r) => [r.id, r.ok, r.code])).toEqual([
      ['a', true, undefined],
      ['b', false, 'E_SIGNATURE'],
      ['d', true, undefined],
    ]);
    expect(runner.skipped).toEqual(['c']);
    expect(runner.failed?.id).toBe('b');
    expect(printed).toContain('✔ first: fine (0.5 s)\n    $ minerhaul x\n');
    expect(printed).toContain('✘ second: error[E_SIGNATURE]: bad signature');
    expect(printed).not.toContain('never');
  });

  it('reports an uncoded error as E_RUNTIME', async () => {
    const runner = new StepRunner();
    await runner.step('x', 'x', async () => {
      throw new Error('boom');
    });
    expect(runner.results[0]).toMatchObject({ ok: false, code: 'E_RUNTIME', detail: 'boom' });
  });
});

describe('Teardown', () => {
  it('undoes in reverse order, once, going on past a failing undo', async () => {
    const order: string[] = [];
    const t = new Teardown();
    t.add('registry', async () => void order.push('registry'));
    t.add('fleet', async () => {
      order.push('fleet');
      throw new Error('stuck');
    });
    t.add('agent', async () => void order.push('agent'));
    const [first, second] = await Promise.all([t.run(), t.run()]);
    expect(order).toEqual(['agent', 'fleet', 'registry']);
    expect(first).toEqual([{ name: 'fleet', error: 'stuck' }]);
    expect(second).toBe(first);
    expect(() => t.add('late', async () => undefined)).toThrow(/already started/);
  });

  it('calls the handler on SIGINT and runs the sync undo on an exit before the teardown ended', () => {
    const target = new EventEmitter();
    const t = new Teardown();
    const synced: string[] = [];
    t.add(
      'miner',
      async () => undefined,
      () => synced.push('miner'),
    );
    const signals: string[] = [];
    const remove = installSignalHandlers(t, (s) => signals.push(s), target as unknown as NodeJS.Process);
    target.emit('SIGINT', 'SIGINT');
    target.emit('exit');
    expect(signals).toEqual(['SIGINT']);
    expect(synced).toEqual(['miner']);
    remove();
    expect(
      target.listenerCount('SIGINT') + target.listenerCount('SIGTERM') + target.listenerCount('exit'),
    ).toBe(0);
  });
});

describe('waitFor', () => {
  it('returns the first defined value', async () => {
    let n = 0;
    expect(
      await waitFor(async () => (++n >= 3 ? n : undefined), { what: 'x', timeoutMs: 5_000, intervalMs: 1 }),
    ).toBe(3);
  });

  it('throws the given code at the deadline, keeping the last probe error', async () => {
    let clock = 0;
    const err = await caught(() =>
      waitFor(
        async () => {
          clock += 400;
          throw new Error('connection refused');
        },
        { what: 'the registry', timeoutMs: 1_000, intervalMs: 1, code: 'E_REGISTRY', now: () => clock },
      ),
    );
    expect(isMinerhaulError(err, 'E_REGISTRY')).toBe(true);
    expect((err as Error).message).toMatch(/the registry: not after 1\.0 s \(connection refused\)/);
  });

  it('ends at once on a coded error from the probe (the awaited process exited)', async () => {
    let calls = 0;
    const code = await codeOf(() =>
      waitFor(
        async () => {
          calls += 1;
          throw new MinerhaulError('E_RUNTIME', 'exited');
        },
        { what: 'x', timeoutMs: 60_000, intervalMs: 1 },
      ),
    );
    expect([code, calls]).toEqual(['E_RUNTIME', 1]);
  });
});

describe('leftover processes', () => {
  const p = (pid: number, ppid: number, cmdline: string): ProcessEntry => ({ pid, ppid, cmdline });
  const dir = '/tmp/minerhaul-demo-ab';
  const table = [
    p(1, 0, '/sbin/init'),
    p(10, 1, 'bash'),
    p(11, 10, `timeout 300 node minerhaul.js demo --dir ${dir}`),
    p(12, 11, `node minerhaul.js demo --dir ${dir}`),
    p(20, 12, `/usr/bin/docker-registry serve ${dir}/registry/config.yml`),
    p(30, 1, `node ${dir}/agent/state/bubblewrap/supervisor.js`),
    p(31, 30, 'bwrap --ro-bind … /opt/miner'),
    p(32, 31, 'node /opt/miner/bin/miner'),
    p(40, 1, 'node /tmp/minerhaul-demo-abc/agent.js'),
  ];

  it("finds the demo's services and their descendants, not the demo, its parents or a similar directory", () => {
    expect(findDemoProcesses(table, dir, 12).map((e) => e.pid)).toEqual([20, 30, 31, 32]);
  });

  it('reads pid, parent and command line from a proc tree, command names with spaces included', () => {
    const proc = join(tmp.path, 'proc');
    mkdirSync(join(proc, '77'), { recursive: true });
    writeFileSync(join(proc, '77', 'stat'), '77 (my (odd) name) S 5 77 77 0');
    writeFileSync(join(proc, '77', 'cmdline'), 'node\0/x/agent.js\0run\0');
    mkdirSync(join(proc, 'self'));
    expect(listProcesses(proc)).toEqual([{ pid: 77, ppid: 5, cmdline: 'node /x/agent.js run' }]);
  });
});

describe('holdsBlob', () => {
  it('finds a blob by its digest anywhere below the state directory, and nothing else', () => {
    const hex = 'c'.repeat(64);
    const blobs = join(tmp.path, 'state', 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    writeFileSync(join(blobs, hex), 'x');
    expect(holdsBlob(join(tmp.path, 'state'), `sha256:${hex}`)).toBe(true);
    expect(holdsBlob(join(tmp.path, 'state'), `sha256:${'d'.repeat(64)}`)).toBe(false);
    expect(holdsBlob(join(tmp.path, 'state'), 'sha256:../../etc')).toBe(false);
  });
});

describe('minerhaul subprocess results', () => {
  it('turns a --json error line into a MinerhaulError with the same code', () => {
    const err = cliFailure('minerhaul sign', {
      code: 1,
      stdout: '',
      stderr: 'noise\n{"error":{"code":"E_KEY","message":"wrong passphrase"}}\n',
    });
    expect([err.code, err.message]).toEqual(['E_KEY', 'minerhaul sign: wrong passphrase']);
  });

  it('reports a crash without a JSON error as E_RUNTIME with the end of stderr', () => {
    const err = cliFailure('build.js', { code: null, stdout: '', stderr: 'Segmentation fault\n' });
    expect(err.code).toBe('E_RUNTIME');
    expect(err.message).toMatch(/by a signal or timeout:\nSegmentation fault/);
  });

  it('reads the last JSON line of stdout', () => {
    expect(lastJsonLine('progress\n{"a":1}\n{"b":2}\n')).toEqual({ b: 2 });
    expect(lastJsonLine('no json here')).toBeUndefined();
  });

  it('quotes what a shell would split', () => {
    expect(shellLine(['--comment', "demo's key", 'oci-layout:/d:1.0.0'])).toBe(
      `--comment 'demo'\\''s key' oci-layout:/d:1.0.0`,
    );
  });
});

describe('chooseMinerPort', () => {
  it('takes a free port, skipping one taken meanwhile, and gives up with E_CONFIG', async () => {
    const offered = [40001, 40002];
    const pick = async () => offered.shift() ?? 40003;
    expect(await chooseMinerPort(pick, async (p) => p === 40001)).toBe(40002);
    expect(await codeOf(() => chooseMinerPort(pick, async () => true))).toBe('E_CONFIG');
    expect(await chooseMinerPort()).toBeGreaterThan(0);
  });
});

describe('processes the demo starts', () => {
  it('kills a command that runs past its time limit', async () => {
    const r = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { timeoutMs: 300 });
    expect(r.code).toBeNull();
  });

  it('stops a service with SIGTERM, and one that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const services = new ServiceProcesses(join(tmp.path, 'logs'));
    const polite = services.start({
      name: 'polite',
      command: process.execPath,
      args: ['-e', 'console.log("up"); setInterval(() => {}, 1000)'],
      env: process.env,
    });
    const stubborn = services.start({
      name: 'stubborn',
      command: process.execPath,
      args: ['-e', 'process.on("SIGTERM", () => {}); console.error("up"); setInterval(() => {}, 1000)'],
      env: process.env,
    });
    await waitFor(async () => (polite.stdout() && stubborn.stderr() ? true : undefined), {
      what: 'services up',
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    await services.stop(polite, 5_000);
    expect(await polite.exited).toBe('SIGTERM');
    await services.stopAll(300);
    expect(await stubborn.exited).toBe('SIGKILL');
    expect(services.list().every((s) => !s.running())).toBe(true);
    expect(polite.stdout()).toBe('up\n');
  });
});

describe('startDemoRegistry', () => {
  const start = (fallback: boolean, program: string | undefined) =>
    startDemoRegistry({
      kind: 'docker-registry',
      program,
      fallback,
      layout: demoLayout(join(tmp.path, `reg-${fallback}-${program === undefined}`)),
      processes: new ServiceProcesses(join(tmp.path, 'reg-logs')),
      env: process.env,
    });

  it('falls back to an OCI layout directory when the registry program dies at start', async () => {
    const registry = await start(true, '/bin/false');
    expect(registry.kind).toBe('oci-layout');
    expect(registry.channelRef).toMatch(/^oci-layout:\/.*\/published:stable$/);
    expect(registry.fallbackReason).toMatch(/docker-registry did not start/);
  });

  it('fails with E_REGISTRY when the registry was demanded', async () => {
    expect(await codeOf(() => start(false, '/bin/false'))).toBe('E_REGISTRY');
  });

  it('uses the OCI layout directly when there is no registry program', async () => {
    expect((await start(true, undefined)).kind).toBe('oci-layout');
  });
});

describe('probing the machine', () => {
  it('finds executables on PATH only, and reports missing ones as absent', () => {
    const bin = join(tmp.path, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'bwrap'), '#!/bin/sh\n');
    chmodSync(join(bin, 'bwrap'), 0o755);
    writeFileSync(join(bin, 'docker-registry'), 'not executable');
    expect(findProgram('bwrap', bin)).toBe(join(bin, 'bwrap'));
    expect(findProgram('docker-registry', bin)).toBeUndefined();
    const probe = probeEnvironment({ PATH: bin });
    expect(probe.programs).toEqual({ bwrap: join(bin, 'bwrap') });
    expect(probe.hasAptGet).toBe(false);
    expect(probe.nodeMajor).toBeGreaterThanOrEqual(20);
    // This repository is installed and built (npm ci): nothing is missing.
    expect(probe.missingModules).toEqual([]);
  });
});

describe('the HTTP clients of the demo', () => {
  let server: Server;
  let base: string;
  const answers = new Map<string, { status: number; body: string }>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const a = answers.get(`${req.method} ${req.url}`) ?? { status: 404, body: '' };
      res.writeHead(a.status).end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('maps a refused admin token to E_AUTH and another failure to E_RUNTIME', async () => {
    answers.set('GET /v1/adoption', { status: 401, body: '{}' });
    expect(await codeOf(() => fetchAdoption(base, 'wrong'))).toBe('E_AUTH');
    answers.set('GET /v1/adoption', { status: 500, body: '{}' });
    expect(await codeOf(() => fetchAdoption(base, 'token'))).toBe('E_RUNTIME');
  });

  it("reports an agent API error as E_RUNTIME and returns the cycle's summary otherwise", async () => {
    const api = new AgentApi(base);
    answers.set('POST /v1/check', { status: 503, body: '{}' });
    expect(await codeOf(() => api.check())).toBe('E_RUNTIME');
    answers.set('POST /v1/check', { status: 200, body: '{"outcome":"up-to-date"}' });
    expect(await api.check()).toEqual({ outcome: 'up-to-date' });
  });

  it("takes a release's outcome from the history when an earlier cycle (a backoff retry) handled it", async () => {
    const api = new AgentApi(base);
    const since = new Date('2026-06-01T00:00:00Z');
    answers.set('POST /v1/check', { status: 200, body: '{"outcome":"up-to-date"}' });
    const history = (at: string) =>
      JSON.stringify({
        history: [{ at, outcome: 'rolled-back', errorCode: 'E_HEALTH', error: 'unhealthy' }],
      });
    answers.set('GET /v1/history', { status: 200, body: history('2026-06-01T00:00:05Z') });
    expect(await api.checkRelease(since)).toEqual({
      outcome: 'rolled-back',
      errorCode: 'E_HEALTH',
      error: 'unhealthy',
    });
    answers.set('GET /v1/history', { status: 200, body: history('2026-05-31T23:59:59Z') });
    expect(await api.checkRelease(since)).toEqual({ outcome: 'up-to-date' });
  });

  it('waits for a miner version and returns what was last seen when it never comes', async () => {
    const port = (server.address() as AddressInfo).port;
    answers.set('GET /version', { status: 200, body: '2.0.0\n' });
    const probe = new MinerProbe(port);
    expect(await probe.waitForVersion('2.0.0', 2_000)).toBe('2.0.0');
    expect(await probe.waitForVersion('4.0.0', 600)).toBe('2.0.0');
    expect(await new MinerProbe(1).version()).toBeUndefined();
  });
});
