import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { type ImageStore, openStore, parseManifest } from '@minerhaul/registry-tools';
import { isMinerhaulError } from '@minerhaul/signing';
import {
  BubblewrapRuntime,
  buildBwrapArgs,
  checkHealth,
  hostPlatform,
  type HostPathKind,
  type MinerConfig,
  readImageConfig,
  type RuntimeRelease,
  selectPlatformManifest,
  unpackRelease,
} from '@minerhaul/updater';
import { freePort } from '../support/free-port';
import { requireTool } from '../support/require-tool';
import { makeTmpDir } from '../support/tmp-dir';

jest.setTimeout(120_000);

const MINER_DIR = join(__dirname, '..', '..', 'images', 'sample-miner');
const BUILD_SCRIPT = join(MINER_DIR, 'build.js');
const EPOCH = '1700000000';
const HOST = hostPlatform();
const OTHER = HOST === 'linux/arm64' ? 'linux/amd64' : 'linux/arm64';

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion (bounded); never rejects on a non-zero exit. */
function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, timeout = 60_000): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { PATH: process.env.PATH, ...env }, timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function buildImage(args: string[]): Promise<Exit> {
  return runToEnd(process.execPath, [BUILD_SCRIPT, '--json', ...args], { SOURCE_DATE_EPOCH: EPOCH }, 120_000);
}

/** A miner process serving on `port`, with helpers to query and stop it. */
class RunningMiner {
  readonly exited: Promise<number | null>;
  stderr = '';
  constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  async get(path: string, method = 'GET'): Promise<{ status: number; body: string } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
        method,
        signal: AbortSignal.timeout(2_000),
      });
      return { status: res.status, body: await res.text() };
    } catch {
      return undefined;
    }
  }

  /** Polls until `path` answers (bounded). */
  async waitFor(path: string, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await this.get(path);
      if (res) return res;
      await sleep(50);
    }
    throw new Error(`miner on ${this.port} did not answer ${path}; stderr: ${this.stderr}`);
  }

  async stats(): Promise<{ height: number; version: string; platform: string; blocksValidated: number }> {
    return JSON.parse((await this.waitFor('/stats')).body) as {
      height: number;
      version: string;
      platform: string;
      blocksValidated: number;
    };
  }

  async waitForHeight(height: number, timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      if (s.height >= height) return s.height;
      if (Date.now() > deadline) throw new Error(`height stayed at ${s.height}`);
      await sleep(50);
    }
  }

  /**
   * SIGTERM to the miner. Under bwrap (`inside`), the sandboxed processes are signalled, not bwrap:
   * bwrap dying would SIGKILL them (--die-with-parent), as the updater's supervisor knows.
   */
  async terminate(inside = false): Promise<number | null> {
    const pids = inside && this.child.pid !== undefined ? descendants(this.child.pid) : [];
    if (pids.length === 0) this.child.kill('SIGTERM');
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Fast blocks for tests: little work per block, many blocks per second. */
const FAST = { MINER_TX_PER_BLOCK: '8', MINER_BLOCK_INTERVAL_MS: '20' };

async function unpackPlatform(store: ImageStore, tag: string, platform: string, dest: string): Promise<void> {
  await unpackRelease(store, { reference: tag, destDir: dest, verifier: undefined, platform });
}

/** Every non-directory entry below `dir`, relative, sorted. */
function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (lstatSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

function chainHeights(dataDir: string): number[] {
  return readFileSync(join(dataDir, 'chain.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { height: number }).height);
}

describe('the sample miner', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let layout: string;
  let store: ImageStore;
  let built: { digest: string; commonLayer: { digest: string } };
  /** The unpacked image for this host's platform and for the other one. */
  let hostTree: string;
  let otherTree: string;
  let failingTree: string;
  let minerBin: string;
  let dataCount = 0;
  const started: RunningMiner[] = [];

  const freshData = (): string => {
    dataCount += 1;
    const dir = join(tmp.path, `data-${dataCount}`);
    mkdirSync(dir);
    return dir;
  };

  const startMiner = async (
    dataDir: string,
    env: NodeJS.ProcessEnv = {},
    bin = minerBin,
  ): Promise<RunningMiner> => {
    const port = await freePort();
    const child = spawn(process.execPath, [bin], {
      env: { PATH: process.env.PATH, MINER_PORT: String(port), MINER_DATA: dataDir, ...FAST, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const miner = new RunningMiner(child, port);
    started.push(miner);
    return miner;
  };

  const runMiner = (args: string[], env: NodeJS.ProcessEnv, bin = minerBin): Promise<Exit> =>
    runToEnd(process.execPath, [bin, ...args], { ...FAST, ...env });

  beforeAll(async () => {
    tmp = makeTmpDir('sample-miner-');
    layout = join(tmp.path, 'layout');
    const out = await buildImage(['--version', '1.0.0', '--output', `oci-layout:${layout}:1.0.0`]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    built = JSON.parse(out.stdout) as typeof built;
    const failing = await buildImage([
      '--version',
      '4.0.0',
      '--fail-health',
      '--output',
      `oci-layout:${layout}:4.0.0`,
    ]);
    expect(failing.code).toBe(0);
    store = openStore(`oci-layout:${layout}`);
    hostTree = join(tmp.path, 'tree-host');
    otherTree = join(tmp.path, 'tree-other');
    failingTree = join(tmp.path, 'tree-failing');
    await unpackPlatform(store, '1.0.0', HOST, hostTree);
    await unpackPlatform(store, '1.0.0', OTHER, otherTree);
    await unpackPlatform(store, '4.0.0', HOST, failingTree);
    minerBin = join(hostTree, 'opt', 'miner', 'bin', 'miner');
  });

  afterEach(async () => {
    for (const m of started.splice(0)) if (m.child.exitCode === null) await m.terminate();
  });

  afterAll(() => tmp?.cleanup());

  describe('when it serves', () => {
    it('answers /health, /version and /stats on its port, and refuses other paths and methods', async () => {
      const miner = await startMiner(freshData());
      expect((await miner.waitFor('/version')).body).toBe('1.0.0\n');
      await miner.waitForHeight(3);
      const health = await miner.get('/health');
      expect(health?.status).toBe(200);
      expect(JSON.parse(health?.body ?? '{}')).toMatchObject({ status: 'ok' });
      const stats = await miner.stats();
      expect(stats).toMatchObject({ version: '1.0.0', platform: HOST });
      expect(stats.blocksValidated).toBeGreaterThanOrEqual(3);
      expect((await miner.get('/nope'))?.status).toBe(404);
      expect((await miner.get('/health', 'POST'))?.status).toBe(405);
    });

    it('keeps its chain in MINER_DATA across a SIGTERM and a restart', async () => {
      const data = freshData();
      const first = await startMiner(data);
      const reached = await first.waitForHeight(5);
      expect(await first.terminate()).toBe(0);
      const stored = chainHeights(data);
      expect(stored.length).toBeGreaterThanOrEqual(reached);

      const second = await startMiner(data);
      await second.waitForHeight(stored.length + 3);
      expect(await second.terminate()).toBe(0);
      const heights = chainHeights(data);
      // One chain: heights 1, 2, 3 … with no gap and no repeat across the restart.
      expect(heights).toEqual(heights.map((_h, i) => i + 1));
      expect(heights.length).toBeGreaterThanOrEqual(stored.length + 3);
    });

    it('cuts a torn last record (power cut during an append) and continues from the one before', async () => {
      const data = freshData();
      expect((await runMiner(['--bench', '4'], { MINER_DATA: data })).code).toBe(0);
      appendFileSync(join(data, 'chain.jsonl'), '{"height":5,"hash":"ab');
      const out = await runMiner(['--bench', '2'], { MINER_DATA: data });
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({ blocks: 2, height: 6 });
      expect(chainHeights(data)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('resumes a chain longer than the 64 KiB tail it reads at start', async () => {
      const data = freshData();
      const first = await runMiner(['--bench', '300'], { MINER_DATA: data, MINER_TX_PER_BLOCK: '1' });
      expect(first.code).toBe(0);
      expect(statSync(join(data, 'chain.jsonl')).size).toBeGreaterThan(64 * 1024);
      const out = await runMiner(['--bench', '1'], { MINER_DATA: data, MINER_TX_PER_BLOCK: '1' });
      expect(JSON.parse(out.stdout)).toMatchObject({ blocks: 1, height: 301 });
    });

    it('starts from genesis when the only record is torn', async () => {
      const data = freshData();
      writeFileSync(join(data, 'chain.jsonl'), '{"height":1,"ha');
      const out = await runMiner(['--bench', '1'], { MINER_DATA: data });
      expect(out.code).toBe(0);
      expect(chainHeights(data)).toEqual([1]);
    });

    it('reports 503 on /health in the failing release (FAIL_HEALTH baked in) but still its version', async () => {
      const miner = await startMiner(freshData(), {}, join(failingTree, 'opt', 'miner', 'bin', 'miner'));
      expect((await miner.waitFor('/version')).body).toBe('4.0.0\n');
      const health = await miner.get('/health');
      expect(health?.status).toBe(503);
      expect(JSON.parse(health?.body ?? '{}')).toMatchObject({ status: 'failing' });
    });

    it('reports 503 on /health while blocks cannot be stored (disk full), and keeps serving', async () => {
      const data = freshData();
      symlinkSync('/dev/full', join(data, 'chain.jsonl'));
      const miner = await startMiner(data);
      await miner.waitFor('/version');
      const deadline = Date.now() + 10_000;
      let health = await miner.get('/health');
      while (health?.status !== 503 && Date.now() < deadline) {
        await sleep(50);
        health = await miner.get('/health');
      }
      expect(health?.status).toBe(503);
      expect(JSON.parse(health?.body ?? '{}')).toMatchObject({ status: 'error' });
      expect((await miner.stats()).height).toBe(0);
    });

    it('reports 503 on /health when MINER_FAIL_HEALTH=1', async () => {
      const miner = await startMiner(freshData(), { MINER_FAIL_HEALTH: '1' });
      expect((await miner.waitFor('/health')).status).toBe(503);
    });
  });

  describe('when run with --bench N', () => {
    it('validates N blocks, stores them and prints the rate', async () => {
      const data = freshData();
      const out = await runMiner(['--bench', '25'], { MINER_DATA: data, MINER_TX_PER_BLOCK: '32' });
      expect(out.code).toBe(0);
      const result = JSON.parse(out.stdout) as Record<string, number | string>;
      expect(result).toMatchObject({ blocks: 25, height: 25, txPerBlock: 32, version: '1.0.0' });
      expect(result.blocksPerSecond).toBeGreaterThan(0);
      // `seconds` is printed rounded to 0.1 ms, so compare the rate within 1 %, not absolutely.
      const impliedBlocks = Number(result.blocksPerSecond) * Number(result.seconds);
      expect(Math.abs(impliedBlocks / 25 - 1)).toBeLessThan(0.01);
      expect(chainHeights(data)).toHaveLength(25);
    });
  });

  describe('when given bad input', () => {
    it.each([
      [['--bench', '0'], {}],
      [['--bench'], {}],
      [['--bench', 'ten'], {}],
      [['--fast'], {}],
      [[], { MINER_PORT: '0' }],
      [[], { MINER_PORT: '70000' }],
      [[], { MINER_PORT: '80a' }],
      [[], { MINER_HOST: 'localhost' }],
      [[], { MINER_DATA: 'relative/dir' }],
      [[], { MINER_TX_PER_BLOCK: '0' }],
      [[], { MINER_BLOCK_INTERVAL_MS: '1' }],
      [[], { MINER_FAIL_HEALTH: 'yes' }],
    ])('refuses %j %j with exit status 2', async (args, env) => {
      const out = await runMiner(args, { MINER_DATA: join(tmp.path, 'never'), ...env });
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/^miner: /);
    });

    it("refuses another platform's files with exit status 3", async () => {
      const out = await runMiner(
        ['--bench', '1'],
        { MINER_DATA: freshData() },
        join(otherTree, 'opt/miner/bin/miner'),
      );
      expect(out.code).toBe(3);
      expect(out.stderr).toContain(`built for ${OTHER}`);
    });

    it('refuses a chain whose last block does not validate, with exit status 1', async () => {
      const data = freshData();
      expect((await runMiner(['--bench', '2'], { MINER_DATA: data })).code).toBe(0);
      const forged = { height: 3, hash: 'f'.repeat(64), prev: 'e'.repeat(64), merkle: '0', txs: 8 };
      appendFileSync(join(data, 'chain.jsonl'), JSON.stringify(forged) + '\n');
      const out = await runMiner(['--bench', '1'], { MINER_DATA: data });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('block 3 does not validate');
    });

    it('refuses a chain file whose last record is not JSON, with exit status 1', async () => {
      const data = freshData();
      appendFileSync(join(data, 'chain.jsonl'), 'not json\n');
      expect((await runMiner(['--bench', '1'], { MINER_DATA: data })).code).toBe(1);
    });

    it('exits 1 when its port is taken', async () => {
      const first = await startMiner(freshData());
      await first.waitFor('/version');
      const out = await runMiner([], { MINER_DATA: freshData(), MINER_PORT: String(first.port) });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain('cannot listen');
    });
  });

  describe('its slim image, built by build.js with minerhaul build', () => {
    it('is an index of linux/amd64 and linux/arm64 sharing one common layer', async () => {
      const top = await store.getManifest('1.0.0');
      const parsed = parseManifest(top?.bytes ?? Buffer.alloc(0), top?.descriptor.mediaType);
      if (parsed.kind !== 'index') throw new Error('expected an index');
      expect(
        parsed.index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`).sort(),
      ).toEqual(['linux/amd64', 'linux/arm64']);
      const layers = await Promise.all(
        ['linux/amd64', 'linux/arm64'].map(
          async (p) => (await selectPlatformManifest(store, built.digest, p)).layers,
        ),
      );
      const [amd, arm] = layers as [(typeof layers)[0], (typeof layers)[0]];
      expect(amd).toHaveLength(2);
      expect(arm).toHaveLength(2);
      expect(amd[0]?.digest).toBe(built.commonLayer.digest);
      expect(arm[0]?.digest).toBe(built.commonLayer.digest);
      expect(amd[1]?.digest).not.toBe(arm[1]?.digest);
    });

    it('holds only /opt/miner files: the JavaScript and VERSION in common, PLATFORM per platform', () => {
      const jsFiles = readdirSync(join(MINER_DIR, 'lib')).map((f) => `opt/miner/lib/${f}`);
      const expected = ['opt/miner/PLATFORM', 'opt/miner/VERSION', 'opt/miner/bin/miner', ...jsFiles].sort();
      expect(filesBelow(hostTree)).toEqual(expected);
      expect(filesBelow(otherTree)).toEqual(expected);
      expect(readdirSync(hostTree)).toEqual(['opt']);
      expect(readFileSync(join(hostTree, 'opt/miner/PLATFORM'), 'utf8')).toBe(`${HOST}\n`);
      expect(readFileSync(join(otherTree, 'opt/miner/PLATFORM'), 'utf8')).toBe(`${OTHER}\n`);
      expect(lstatSync(minerBin).mode & 0o111).not.toBe(0);
    });

    it('is reproducible under SOURCE_DATE_EPOCH', async () => {
      const again = await buildImage([
        '--version',
        '1.0.0',
        '--output',
        `oci-layout:${tmp.path}/again:1.0.0`,
      ]);
      expect(again.code).toBe(0);
      expect((JSON.parse(again.stdout) as { digest: string }).digest).toBe(built.digest);
    });

    it("runs under bubblewrap with the updater's slim sandbox arguments (host runtime bound read-only)", async () => {
      const bwrap = requireTool('bwrap');
      const manifest = await selectPlatformManifest(store, built.digest, HOST);
      const { config } = await readImageConfig(store, manifest);
      expect(config.entrypoint).toEqual(['/opt/miner/bin/miner']);
      const port = await freePort();
      const minerConfig: MinerConfig = {
        ...config,
        env: [...config.env, `MINER_PORT=${port}`, ...Object.entries(FAST).map(([k, v]) => `${k}=${v}`)],
      };
      const data = freshData();
      const args = buildBwrapArgs({
        mode: 'slim',
        releaseDir: hostTree,
        config: minerConfig,
        dataDir: data,
        hostPath: inspectHostPath,
      });
      const child = spawn(bwrap, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const miner = new RunningMiner(child, port);
      started.push(miner);
      expect((await miner.waitFor('/version')).body).toBe('1.0.0\n');
      await miner.waitForHeight(2);
      expect(await miner.terminate(true)).toBe(0);
      expect(chainHeights(data).length).toBeGreaterThanOrEqual(2);
    });

    it("runs under the updater's BubblewrapRuntime: 1.0.0 passes its http health check, 4.0.0 fails it", async () => {
      requireTool('bwrap');
      const port = await freePort();
      const data = freshData();
      const runtime = new BubblewrapRuntime({
        stateDir: join(tmp.path, 'runtime-state'),
        dataDir: data,
        backoff: { initialMs: 100, maxMs: 400, resetAfterMs: 60_000 },
      });
      const release = async (tag: string, tree: string, sequence: number): Promise<RuntimeRelease> => {
        const top = await store.resolve(tag);
        const manifest = await selectPlatformManifest(store, top?.digest ?? '', HOST);
        const { config } = await readImageConfig(store, manifest);
        return {
          digest: top?.digest ?? '',
          manifestDigest: manifest.manifestDigest,
          version: tag,
          sequence,
          bubblewrap: { releaseDir: tree, mode: 'slim' },
          // The image config as built, plus what the test needs: a free port and quick blocks.
          config: { ...config, env: [...config.env, `MINER_PORT=${port}`, 'MINER_BLOCK_INTERVAL_MS=20'] },
        };
      };
      const health = { kind: 'http' as const, url: `http://127.0.0.1:${port}/health`, timeoutSeconds: 3 };
      try {
        const good = await release('1.0.0', hostTree, 1);
        await runtime.activate(await runtime.prepare(good));
        await checkHealth(health, runtime, good.digest);
        const bad = await release('4.0.0', failingTree, 2);
        await runtime.activate(await runtime.prepare(bad));
        const failure = await checkHealth(health, runtime, bad.digest).catch((err: unknown) => err);
        expect(isMinerhaulError(failure, 'E_HEALTH')).toBe(true);
      } finally {
        await runtime.stop();
      }
      // Both releases extended the one chain in the shared data directory.
      const heights = chainHeights(data);
      expect(heights.length).toBeGreaterThan(1);
      expect(heights).toEqual(heights.map((_h, i) => i + 1));
    });

    it.each([
      [['--output', 'oci-layout:/tmp/x']],
      [['--version', '1.0.0']],
      [['--version', '1.0.0', '--output', '/tmp/not-a-layout-ref']],
      [['--version', '1.0.0', '--output', 'oci-layout:/tmp/x', '--platform', 'arm64']],
      [
        [
          '--version',
          '1.0.0',
          '--output',
          'oci-layout:/tmp/x',
          '--platform',
          'linux/amd64',
          '--platform',
          'linux/amd64',
        ],
      ],
      [['--version', '1.0.0', '--output', 'oci-layout:/tmp/x', '--bogus']],
    ])('build.js refuses %j with exit status 2', async (args) => {
      const out = await runToEnd(process.execPath, [BUILD_SCRIPT, ...args]);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/^build\.js: /);
    });
  });
});

/** Every process below `root` (from /proc/<pid>/stat parent ids). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The parent id follows the command name, which may contain spaces or parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Exited while listed.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0 && found.length < 1000) {
    for (const pid of children.get(queue.shift() as number) ?? []) {
      found.push(pid);
      queue.push(pid);
    }
  }
  return found;
}

/** What the bubblewrap runtime's own inspector reports: lstat, symlink targets kept. */
function inspectHostPath(path: string): HostPathKind {
  try {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(path) };
    return st.isDirectory() ? { type: 'dir' } : { type: 'file' };
  } catch {
    return undefined;
  }
}
