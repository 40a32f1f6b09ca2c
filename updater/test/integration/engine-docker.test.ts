import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ImageStore, openStore } from '@minerhaul/registry-tools';
import { type CreateUpdateEngineInput, createUpdateEngine, type UpdateEngine } from '@minerhaul/updater';
import { startDockerd, type TestDockerd } from '../../../test/support/dockerd';
import { DEFAULT_USERS, startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { freePort, minerGet, waitForMinerVersion } from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { publishMinerImage } from '../engine/miner-image';
import { makeTestKeys, type TestKeys } from '../engine/release-fixtures';

/** An engine on `dockerd` following `source`, trusting `keys`, health-checked over HTTP on `port`. */
function dockerEngine(o: {
  stateDir: string;
  source: CreateUpdateEngineInput['source'];
  keys: TestKeys;
  dockerd: TestDockerd;
  containerName: string;
  port: number;
  dataDir?: string;
}): UpdateEngine {
  return createUpdateEngine({
    stateDir: o.stateDir,
    source: o.source,
    trust: { keys: [o.keys.publicKeyText.split('\n')[1] ?? ''] },
    runtime: {
      kind: 'docker',
      socketPath: o.dockerd.socketPath,
      containerName: o.containerName,
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
    },
    health: { kind: 'http', url: `http://127.0.0.1:${o.port}/health`, timeoutSeconds: 5 },
  });
}

/** The engine end to end on a real Docker engine, pulling by digest from a real docker-registry. */
describe('UpdateEngine on docker', () => {
  const tmp = makeTmpDir('engine-docker-');
  let dockerd: TestDockerd;
  let registry: RunningRegistry;
  let store: ImageStore;
  let keys: TestKeys;
  let port: number;
  let engine: UpdateEngine;

  beforeAll(async () => {
    [dockerd, registry] = await Promise.all([startDockerd(), startRegistry()]);
    store = openStore(`${registry.host}/miner:stable`);
    keys = makeTestKeys();
    port = await freePort();
    engine = dockerEngine({
      stateDir: join(tmp.path, 'state'),
      source: { ref: `${registry.host}/miner:stable` },
      keys,
      dockerd,
      containerName: 'engine-test',
      port,
      dataDir: join(tmp.path, 'data'),
    });
  }, 120_000);

  afterAll(async () => {
    await dockerd?.stop();
    await registry?.stop();
    tmp.cleanup();
  }, 60_000);

  it('installs v1, then updates to v2 in place of it', async () => {
    await publishMinerImage(store, { version: '1.0.0', port, keys, tag: 'stable' });
    await expect(engine.check()).resolves.toMatchObject({
      outcome: 'updated',
      release: { version: '1.0.0' },
    });
    expect(await waitForMinerVersion(port, '1.0.0')).toBe('1.0.0');

    await publishMinerImage(store, { version: '2.0.0', port, keys, tag: 'stable' });
    await expect(engine.check()).resolves.toMatchObject({
      outcome: 'updated',
      release: { version: '2.0.0' },
    });
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
    // Two miners never run together; the old container is kept (stopped) for rollback.
    const ps = (await dockerd.docker(['ps', '-q'])).trim().split('\n');
    expect(ps).toHaveLength(1);
    expect(engine.status()).toMatchObject({ current: { version: '2.0.0' }, previous: { version: '1.0.0' } });
    // The data directory is the host's, bound into every release's container: both starts are in it.
    const starts = readFileSync(join(tmp.path, 'data', 'starts.log'), 'utf8');
    expect(starts).toMatch(/ 1\.0\.0 /);
    expect(starts).toMatch(/ 2\.0\.0 /);
  }, 120_000);

  it('rolls a v3 that fails its health check back to v2, which serves afterwards (E_HEALTH)', async () => {
    await publishMinerImage(store, { version: '3.0.0', port, keys, tag: 'stable', failHealth: true });
    await expect(engine.check()).rejects.toMatchObject({ code: 'E_HEALTH' });
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
    expect((await minerGet(port, '/health'))?.status).toBe(200);
    expect(engine.status()).toMatchObject({ current: { version: '2.0.0' }, rollbackCount: 1 });
    expect((await dockerd.docker(['ps', '-q'])).trim().split('\n')).toHaveLength(1);
  }, 120_000);
});

/** A source the Engine cannot pull from: the verified blobs go to the blob store and are loaded from there. */
describe('UpdateEngine on docker with an oci-layout source', () => {
  const tmp = makeTmpDir('engine-docker-layout-');
  let dockerd: TestDockerd;
  let store: ImageStore;
  let keys: TestKeys;
  let port: number;
  let engine: UpdateEngine;
  const stateDir = (): string => join(tmp.path, 'state');

  beforeAll(async () => {
    dockerd = await startDockerd();
    const layout = `oci-layout:${join(tmp.path, 'layout')}:stable`;
    store = openStore(layout);
    keys = makeTestKeys();
    port = await freePort();
    engine = dockerEngine({
      stateDir: stateDir(),
      source: { ref: layout },
      keys,
      dockerd,
      containerName: 'engine-layout',
      port,
    });
  }, 120_000);

  afterAll(async () => {
    await dockerd?.stop();
    tmp.cleanup();
  }, 60_000);

  /** The image every running container was created from. */
  const runningImages = async (): Promise<string[]> =>
    (await dockerd.docker(['ps', '--no-trunc', '--format', '{{.Image}}'])).trim().split('\n');

  it('installs v1 and updates to v2 from the verified blobs, the shared layer stored once', async () => {
    const v1 = await publishMinerImage(store, { version: '1.0.0', port, keys, tag: 'stable' });
    await expect(engine.check()).resolves.toMatchObject({
      outcome: 'updated',
      release: { version: '1.0.0' },
    });
    expect(await waitForMinerVersion(port, '1.0.0')).toBe('1.0.0');
    // Loaded, not pulled: the container runs the image id, which is the config digest.
    const manifest = await store.getManifest(v1.manifests[0]?.digest ?? '');
    const { config } = JSON.parse(manifest?.bytes.toString('utf8') ?? '{}') as { config: { digest: string } };
    expect(await runningImages()).toEqual([config.digest]);

    const blobsDir = join(stateDir(), 'store', 'blobs', 'sha256');
    const afterV1 = new Set(readdirSync(blobsDir));
    await publishMinerImage(store, { version: '2.0.0', port, keys, tag: 'stable' });
    await expect(engine.check()).resolves.toMatchObject({
      outcome: 'updated',
      release: { version: '2.0.0' },
    });
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
    expect((await dockerd.docker(['ps', '-q'])).trim().split('\n')).toHaveLength(1);
    // v2 added its own config and layer; the common layer (busybox) was already held.
    const added = readdirSync(blobsDir).filter((n) => !afterV1.has(n));
    expect(added).toHaveLength(2);
  }, 180_000);

  it('rolls a v3 that fails its health check back to v2 (E_HEALTH)', async () => {
    await publishMinerImage(store, { version: '3.0.0', port, keys, tag: 'stable', failHealth: true });
    await expect(engine.check()).rejects.toMatchObject({ code: 'E_HEALTH' });
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
    expect(engine.status()).toMatchObject({ current: { version: '2.0.0' }, rollbackCount: 1 });
  }, 120_000);
});

/** A registry that needs a login: the agent's own requests and the Engine's pull both carry it. */
describe('UpdateEngine on docker from a registry that needs credentials', () => {
  const tmp = makeTmpDir('engine-docker-auth-');
  let dockerd: TestDockerd;
  let registry: RunningRegistry;
  let keys: TestKeys;
  let port: number;
  const [username, password] = Object.entries(DEFAULT_USERS)[0] as [string, string];

  beforeAll(async () => {
    [dockerd, registry] = await Promise.all([startDockerd(), startRegistry({ auth: 'htpasswd' })]);
    keys = makeTestKeys();
    port = await freePort();
  }, 120_000);

  afterAll(async () => {
    await dockerd?.stop();
    await registry?.stop();
    tmp.cleanup();
  }, 60_000);

  const engineWith = (credentials?: { username: string; password: string }): UpdateEngine =>
    dockerEngine({
      stateDir: join(tmp.path, credentials ? 'state' : 'state-anonymous'),
      source: { ref: `${registry.host}/miner:stable`, ...(credentials ? { credentials } : {}) },
      keys,
      dockerd,
      containerName: 'engine-auth',
      port,
    });

  it('installs with the owner’s credentials, and refuses with E_AUTH without them', async () => {
    const store = openStore(`${registry.host}/miner:stable`, { credentials: { username, password } });
    await publishMinerImage(store, { version: '1.0.0', port, keys, tag: 'stable' });
    await expect(engineWith().check()).rejects.toMatchObject({ code: 'E_AUTH' });
    await expect(engineWith({ username, password }).check()).resolves.toMatchObject({
      outcome: 'updated',
      release: { version: '1.0.0' },
    });
    expect(await waitForMinerVersion(port, '1.0.0')).toBe('1.0.0');
  }, 180_000);
});
