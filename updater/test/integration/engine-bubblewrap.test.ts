import { join } from 'node:path';
import { type ImageStore, openStore, signImage, storeReleaseStatement } from '@minerhaul/registry-tools';
import { createStatement, encodeStatement, signMessage } from '@minerhaul/signing';
import { BubblewrapRuntime, createUpdateEngine, type UpdateEngine } from '@minerhaul/updater';
import { startLyingProxy, type LyingProxy } from '../../../test/support/lying-proxy';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { requireTool } from '../../../test/support/require-tool';
import { freePort, minerGet, waitForMinerVersion } from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { publishMinerImage } from '../engine/miner-image';
import { makeTestKeys, type TestKeys } from '../engine/release-fixtures';

/**
 * The engine end to end on bubblewrap: a real docker-registry behind a request-counting proxy,
 * images from the real builder, signatures from the real signer, the real unpacker and runtime.
 */
describe('UpdateEngine on bubblewrap', () => {
  const tmp = makeTmpDir('engine-bwrap-');
  let registry: RunningRegistry;
  let proxy: LyingProxy;
  let store: ImageStore;
  let keys: TestKeys;
  let port: number;
  let engine: UpdateEngine;
  const stateDir = join(tmp.path, 'state');
  const dataDir = join(tmp.path, 'data');
  const layersOf: Record<string, string[]> = {};

  const blobGets = (): string[] =>
    proxy.requests
      .filter((r) => r.method === 'GET' && r.path.includes('/blobs/'))
      .map((r) => r.path.split('/').pop() ?? '');

  async function publish(version: string, extra: { failHealth?: boolean } = {}): Promise<void> {
    const built = await publishMinerImage(store, { version, port, keys, tag: 'stable', ...extra });
    const manifest = built.manifests[0];
    if (manifest === undefined) throw new Error('no manifest built');
    const got = await store.getManifest(manifest.digest);
    const parsed = JSON.parse(got?.bytes.toString('utf8') ?? '{}') as { layers: Array<{ digest: string }> };
    layersOf[version] = parsed.layers.map((l) => l.digest);
  }

  beforeAll(async () => {
    requireTool('bwrap');
    registry = await startRegistry();
    proxy = await startLyingProxy(registry.url);
    store = openStore(`${proxy.host}/miner:stable`);
    keys = makeTestKeys();
    port = await freePort();
    engine = createUpdateEngine({
      stateDir,
      source: { ref: `${proxy.host}/miner:stable` },
      trust: { keys: [keys.publicKeyText.split('\n')[1] ?? ''] },
      runtime: { kind: 'bubblewrap', mode: 'slim', dataDir },
      health: { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeoutSeconds: 5 },
    });
  });

  afterAll(async () => {
    await new BubblewrapRuntime({ stateDir, dataDir }).stop();
    await proxy?.stop();
    await registry?.stop();
    tmp.cleanup();
  });

  it('installs v1 on a fresh device', async () => {
    await publish('1.0.0');
    await expect(engine.check()).resolves.toMatchObject({
      outcome: 'updated',
      release: { version: '1.0.0' },
    });
    expect(await waitForMinerVersion(port, '1.0.0')).toBe('1.0.0');
  });

  it('updates v1 -> v2, fetching the changed layer once and the shared one never again', async () => {
    await publish('2.0.0');
    const [sharedV1, ownV1] = layersOf['1.0.0'] ?? [];
    const [sharedV2, ownV2] = layersOf['2.0.0'] ?? [];
    expect(sharedV2).toBe(sharedV1);
    expect(ownV2).not.toBe(ownV1);
    proxy.requests.length = 0;
    await expect(engine.check()).resolves.toMatchObject({
      outcome: 'updated',
      release: { version: '2.0.0' },
    });
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
    const gets = blobGets();
    expect(gets.filter((d) => d === ownV2)).toHaveLength(1);
    expect(gets).not.toContain(sharedV2);
    expect(engine.status()).toMatchObject({ current: { version: '2.0.0' }, previous: { version: '1.0.0' } });
  });

  it('costs one HEAD and nothing else when nothing changed', async () => {
    proxy.requests.length = 0;
    await expect(engine.check()).resolves.toMatchObject({ outcome: 'up-to-date' });
    expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('rolls a v3 that fails its health check back to v2, which serves afterwards (E_HEALTH)', async () => {
    await publish('3.0.0', { failHealth: true });
    await expect(engine.check()).rejects.toMatchObject({ code: 'E_HEALTH' });
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
    expect((await minerGet(port, '/health'))?.status).toBe(200);
    expect(engine.status()).toMatchObject({
      current: { version: '2.0.0' },
      rollbackCount: 1,
      lastErrorCode: 'E_HEALTH',
    });
  });

  it('never fetches a layer for a tampered statement (E_SIGNATURE)', async () => {
    const built = await publishMinerImage(store, { version: '4.0.0', port, tag: 'stable' });
    const statement = createStatement({
      repository: store.repository,
      digest: built.index.digest,
      version: '4.0.0',
      channel: 'stable',
      sequence: 40,
    });
    const signed = encodeStatement(statement);
    const signature = signMessage(keys.secretKey, signed);
    const tampered = Buffer.from(signed.toString('utf8').replace('"sequence":40', '"sequence":41'));
    await storeReleaseStatement(store, {
      subject: built.index,
      statement: tampered,
      signature,
      channel: 'stable',
      sequence: 41,
      keyNumber: keys.secretKey.keyNumberHex,
      created: statement.created,
    });
    const manifest = await store.getManifest(built.manifests[0]?.digest ?? '');
    const v4Layers = (
      JSON.parse(manifest?.bytes.toString('utf8') ?? '{}') as { layers: Array<{ digest: string }> }
    ).layers.map((l) => l.digest);
    proxy.requests.length = 0;
    await expect(engine.check()).rejects.toMatchObject({ code: 'E_SIGNATURE' });
    const gets = blobGets();
    for (const layer of v4Layers) expect(gets).not.toContain(layer);
    // No manifest of the image itself was read either: only the statement artifacts.
    expect(proxy.requests.some((r) => r.path.endsWith(`/manifests/${built.manifests[0]?.digest}`))).toBe(
      false,
    );
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
  });

  /** Publishes an unsigned release on `stable`, signs it as told, and returns its layer digests. */
  async function publishSigned(version: string, sign: Parameters<typeof signImage>[1]): Promise<string[]> {
    const built = await publishMinerImage(store, { version, port, tag: 'stable' });
    await signImage(store, sign);
    const manifest = await store.getManifest(built.manifests[0]?.digest ?? '');
    return (
      JSON.parse(manifest?.bytes.toString('utf8') ?? '{}') as { layers: Array<{ digest: string }> }
    ).layers.map((l) => l.digest);
  }

  it('refuses a validly signed release with a lower sequence (E_ROLLBACK) before fetching any layer', async () => {
    const installed = engine.status().current?.sequence ?? 0;
    expect(installed).toBeGreaterThan(1);
    const layers = await publishSigned('5.0.0', {
      reference: 'stable',
      secretKey: keys.secretKey,
      channel: 'stable',
      sequence: installed - 1,
    });
    proxy.requests.length = 0;
    await expect(engine.check()).rejects.toMatchObject({ code: 'E_ROLLBACK' });
    for (const layer of layers) expect(blobGets()).not.toContain(layer);
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
  });

  it('refuses a validly signed but expired release (E_EXPIRED, freeze attack) before fetching any layer', async () => {
    const signedAt = new Date('2020-01-01T00:00:00Z');
    const layers = await publishSigned('6.0.0', {
      reference: 'stable',
      secretKey: keys.secretKey,
      channel: 'stable',
      sequence: 600,
      now: signedAt,
      expires: new Date('2020-01-08T00:00:00Z'),
    });
    proxy.requests.length = 0;
    await expect(engine.check()).rejects.toMatchObject({ code: 'E_EXPIRED' });
    for (const layer of layers) expect(blobGets()).not.toContain(layer);
    expect(await waitForMinerVersion(port, '2.0.0')).toBe('2.0.0');
  });
});
