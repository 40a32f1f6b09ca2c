import { existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentDaemon, childProcessEngineFactory, engineChildPath } from '@minerhaul/hotspot-agent';
import { type ImageStore, openStore, signImage } from '@minerhaul/registry-tools';
import { BubblewrapRuntime } from '@minerhaul/updater';
import { publishMinerImage } from '../../../updater/test/engine/miner-image';
import { makeTestKeys, type TestKeys } from '../../../updater/test/engine/release-fixtures';
import { startLyingProxy, type LyingProxy } from '../../../test/support/lying-proxy';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { requireTool } from '../../../test/support/require-tool';
import { freePort, waitForMinerVersion } from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { writeConfig } from '../helpers/agent-fixtures';

/**
 * `agent run` keeps the engine out of the resident daemon: each job runs in a child process (the
 * compiled dist/engine/engine-child.js, so this suite needs `npm run build`, as CI's `npm ci` does).
 * Checks that an update, the update lock (asked of the daemon over IPC) and the one-HEAD poll work
 * across the process boundary, with the real registry and bubblewrap.
 */
describe('hotspot agent with the engine in a child process', () => {
  const tmp = makeTmpDir('agent-child-');
  const stateDir = join(tmp.path, 'state');
  const dataDir = join(tmp.path, 'data');
  const lockPath = join(dataDir, 'update.lock');
  let registry: RunningRegistry;
  let proxy: LyingProxy;
  let store: ImageStore;
  let keys: TestKeys;
  let minerPort: number;
  let daemon: AgentDaemon;
  const events: string[] = [];

  beforeAll(async () => {
    requireTool('bwrap');
    if (!existsSync(engineChildPath()))
      throw new Error(`${engineChildPath()} is missing: run npm run build first`);
    registry = await startRegistry();
    proxy = await startLyingProxy(registry.url);
    store = openStore(`${proxy.host}/vendor/miner:stable`);
    keys = makeTestKeys('vendor');
    minerPort = await freePort();
    mkdirSync(dataDir, { recursive: true });
    const configPath = writeConfig(tmp.path, {
      stateDir,
      defaultSource: { ref: `${proxy.host}/vendor/miner:stable` },
      trust: { keys: [keys.publicKeyText.split('\n')[1] ?? ''] },
      runtime: { kind: 'bubblewrap', mode: 'slim', dataDir },
      health: { kind: 'http', url: `http://127.0.0.1:${minerPort}/health`, timeoutSeconds: 10 },
      schedule: { cron: '0 0 1 1 *', jitterSeconds: 86400 },
      lock: { path: lockPath, maxDeferSeconds: 3600 },
    });
    daemon = await AgentDaemon.open({
      configPath,
      engineFactory: childProcessEngineFactory(),
      log: {
        debug: () => undefined,
        info: (obj) => void events.push(String((obj as { type?: unknown }).type)),
        warn: () => undefined,
        error: () => undefined,
      },
    });
    await daemon.start();
  });

  afterAll(async () => {
    await daemon?.stop();
    await new BubblewrapRuntime({ stateDir, dataDir }).stop().catch(() => undefined);
    await proxy?.stop();
    await registry?.stop();
    tmp.cleanup();
  });

  it('installs a release, with the engine events reaching the daemon', async () => {
    await publishMinerImage(store, { version: '1.0.0', port: minerPort, keys, tag: 'stable' });
    expect(await daemon.checkOnce()).toMatchObject({ outcome: 'updated', release: { version: '1.0.0' } });
    expect(await waitForMinerVersion(minerPort, '1.0.0')).toBe('1.0.0');
    expect(events).toEqual(expect.arrayContaining(['phase', 'updated']));
    expect(daemon.snapshot()).toMatchObject({ current: { version: '1.0.0' }, phase: 'committed' });
  });

  it('makes one HEAD request when nothing changed', async () => {
    proxy.requests.length = 0;
    expect(await daemon.checkOnce()).toMatchObject({ outcome: 'up-to-date' });
    expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('defers the swap while the miner holds its lock (asked across the process boundary)', async () => {
    await publishMinerImage(store, { version: '2.0.0', port: minerPort, keys, tag: 'stable' });
    writeFileSync(lockPath, String(process.pid));
    expect(await daemon.checkOnce()).toMatchObject({ outcome: 'deferred' });
    expect(await waitForMinerVersion(minerPort, '1.0.0')).toBe('1.0.0');
    unlinkSync(lockPath);
    expect(await daemon.checkOnce()).toMatchObject({ outcome: 'updated', release: { version: '2.0.0' } });
    expect(await waitForMinerVersion(minerPort, '2.0.0')).toBe('2.0.0');
  });

  it('reports an engine failure with its code', async () => {
    await publishMinerImage(store, { version: '3.0.0', port: minerPort, tag: 'stable' });
    expect(await daemon.checkOnce()).toMatchObject({ outcome: 'failed', errorCode: 'E_SIGNATURE' });
    expect(daemon.snapshot().lastErrorCode).toBe('E_SIGNATURE');
  });

  it('leaves a release whose staged rollout is 0 % alone (not-in-rollout), fetching no layer', async () => {
    const built = await publishMinerImage(store, { version: '4.0.0', port: minerPort, tag: 'stable' });
    await signImage(store, { reference: 'stable', secretKey: keys.secretKey, rollout: 0 });
    const manifest = await store.getManifest(built.manifests[0]?.digest ?? '');
    const layers = (JSON.parse(manifest?.bytes.toString('utf8') ?? '{}') as { layers: { digest: string }[] })
      .layers;
    expect(layers.length).toBeGreaterThan(0);
    proxy.requests.length = 0;
    expect(await daemon.checkOnce()).toMatchObject({ outcome: 'not-in-rollout' });
    const fetched = proxy.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    for (const layer of layers) expect(fetched.some((p) => p.endsWith(layer.digest))).toBe(false);
    expect(await waitForMinerVersion(minerPort, '2.0.0')).toBe('2.0.0');
    expect(daemon.snapshot().lastErrorCode).toBeUndefined();
  });
});
