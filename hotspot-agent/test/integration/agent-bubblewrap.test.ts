import { join } from 'node:path';
import { openStore as openFleetStore, startFleetServer, type StartedFleetServer } from '@minerhaul/fleet';
import {
  AgentDaemon,
  createAgentEngine,
  signOwnerRequest,
  type CycleSummary,
} from '@minerhaul/hotspot-agent';
import { type ImageStore, openStore, storeReleaseStatement } from '@minerhaul/registry-tools';
import { createStatement, encodeStatement, signMessage } from '@minerhaul/signing';
import { BubblewrapRuntime } from '@minerhaul/updater';
import { publishMinerImage } from '../../../updater/test/engine/miner-image';
import { makeTestKeys, publishRelease, type TestKeys } from '../../../updater/test/engine/release-fixtures';
import { startLyingProxy, type LyingProxy } from '../../../test/support/lying-proxy';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { requireTool } from '../../../test/support/require-tool';
import { freePort, waitForMinerVersion } from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { makeOwnerKey, writeConfig } from '../helpers/agent-fixtures';

const keyLine = (keys: TestKeys): string => keys.publicKeyText.split('\n')[1] ?? '';

/**
 * The agent end to end: a real docker-registry (behind a request-counting proxy) holding the
 * vendor's and the owner's repositories, images from the real builder signed by the real signer,
 * the real engine on real bubblewrap, the real fleet server receiving the reports.
 */
describe('hotspot agent on bubblewrap', () => {
  const tmp = makeTmpDir('agent-bwrap-');
  const stateDir = join(tmp.path, 'state');
  const dataDir = join(tmp.path, 'data');
  const fleetDb = `sqlite:${join(tmp.path, 'fleet.db')}`;
  const fleetEnv = { MINERHAUL_FLEET_ADMIN_TOKEN: 'a'.repeat(40) };
  const owner = makeOwnerKey('owner');
  let registry: RunningRegistry;
  let proxy: LyingProxy;
  let vendorStore: ImageStore;
  let ownerStore: ImageStore;
  let vendorKey: TestKeys;
  let ownerReleaseKey: TestKeys;
  let rotatedKey: TestKeys;
  let fleet: StartedFleetServer | undefined;
  let fleetListen: string;
  let minerPort: number;
  let daemon: AgentDaemon;
  let api: string;

  const check = async (): Promise<CycleSummary> => {
    const res = await fetch(`${api}/v1/check`, { method: 'POST' });
    expect(res.status).toBe(200);
    return (await res.json()) as CycleSummary;
  };

  const putConfig = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${api}/v1/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  const signedPut = (body: unknown, secret = owner.secret) =>
    signOwnerRequest(secret, { method: 'PUT', path: '/v1/config', body });

  /** The fleet's row for this device, polled until `until` holds (the fleet batches its writes). */
  async function fleetDevice(until: (row: { lastError: string | null; lastSeq: number }) => boolean) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const store = openFleetStore(fleetDb);
      try {
        const row = await store.getDevice(daemon.deviceId);
        if (row !== undefined && until(row)) return row;
      } finally {
        await store.close();
      }
      if (Date.now() > deadline) throw new Error('the fleet never showed the expected report');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    requireTool('bwrap');
    registry = await startRegistry();
    proxy = await startLyingProxy(registry.url);
    vendorStore = openStore(`${proxy.host}/vendor/miner:stable`);
    ownerStore = openStore(`${proxy.host}/owner/miner:stable`);
    vendorKey = makeTestKeys('vendor');
    ownerReleaseKey = makeTestKeys('owner-release');
    rotatedKey = makeTestKeys('owner-rotated');
    minerPort = await freePort();
    fleetListen = `127.0.0.1:${await freePort()}`;
    fleet = await startFleetServer({ db: fleetDb, listen: fleetListen }, fleetEnv);
    const configPath = writeConfig(tmp.path, {
      stateDir,
      defaultSource: { ref: `${proxy.host}/vendor/miner:stable` },
      trust: { keys: [keyLine(vendorKey)] },
      runtime: { kind: 'bubblewrap', mode: 'slim', dataDir },
      health: { kind: 'http', url: `http://127.0.0.1:${minerPort}/health`, timeoutSeconds: 10 },
      // Checks are driven by the test through POST /v1/check: the schedule never fires here.
      schedule: { cron: '0 0 1 1 *', jitterSeconds: 86400 },
      fleet: { url: fleet.url },
      api: { listen: '127.0.0.1:0', ownerKeys: [owner.line] },
    });
    daemon = await AgentDaemon.open({ configPath, engineFactory: createAgentEngine });
    await daemon.start();
    api = daemon.apiAddress ?? '';
  });

  afterAll(async () => {
    await daemon?.stop();
    await new BubblewrapRuntime({ stateDir, dataDir }).stop().catch(() => undefined);
    await fleet?.fleet.close();
    await proxy?.stop();
    await registry?.stop();
    tmp.cleanup();
  });

  it("takes the default source's release on a fresh device", async () => {
    await publishMinerImage(vendorStore, {
      version: '1.0.0',
      port: minerPort,
      keys: vendorKey,
      tag: 'stable',
    });
    expect(await check()).toMatchObject({ outcome: 'updated', release: { version: '1.0.0' } });
    expect(await waitForMinerVersion(minerPort, '1.0.0')).toBe('1.0.0');
    expect(daemon.snapshot().source.kind).toBe('default');
  });

  it('makes exactly one registry request in a cycle with no update available', async () => {
    proxy.requests.length = 0;
    expect(await check()).toMatchObject({ outcome: 'up-to-date' });
    expect(proxy.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('refuses unsigned and wrongly signed config changes, changing nothing', async () => {
    const body = { source: { ref: `${proxy.host}/owner/miner:stable` } };
    expect((await putConfig(body)).status).toBe(401);
    const stranger = makeOwnerKey('stranger');
    expect((await putConfig(body, signedPut(body, stranger.secret))).status).toBe(401);
    expect(daemon.snapshot().source.kind).toBe('default');
  });

  it('installs the custom release after an owner-signed switch to a custom registry, and refuses the replay', async () => {
    await publishMinerImage(ownerStore, {
      version: '5.0.0',
      port: minerPort,
      keys: ownerReleaseKey,
      tag: 'stable',
    });
    const body = {
      source: { ref: `${proxy.host}/owner/miner:stable` },
      trust: { keys: [keyLine(ownerReleaseKey)] },
    };
    const headers = signedPut(body);
    const res = await putConfig(body, headers);
    expect(res.status).toBe(200);
    expect(daemon.snapshot().source).toEqual({ kind: 'custom', ref: `${proxy.host}/owner/miner:stable` });
    expect(await check()).toMatchObject({ outcome: 'updated', release: { version: '5.0.0' } });
    expect(await waitForMinerVersion(minerPort, '5.0.0')).toBe('5.0.0');
    expect((await putConfig(body, headers)).status).toBe(401);
  });

  it('refuses a release signed only by a rotated-out key (E_SIGNATURE) and keeps the miner', async () => {
    const body = { trust: { keys: [keyLine(rotatedKey)] } };
    expect((await putConfig(body, signedPut(body))).status).toBe(200);
    await publishMinerImage(ownerStore, {
      version: '6.0.0',
      port: minerPort,
      keys: ownerReleaseKey,
      tag: 'stable',
    });
    expect(await check()).toMatchObject({ outcome: 'failed', errorCode: 'E_SIGNATURE' });
    expect(await waitForMinerVersion(minerPort, '5.0.0')).toBe('5.0.0');
    expect(await fleetDevice((row) => row.lastError === 'E_SIGNATURE')).toMatchObject({
      lastError: 'E_SIGNATURE',
    });
  });

  it('never runs a release whose statement was tampered with, and the report says E_SIGNATURE', async () => {
    const built = await publishMinerImage(ownerStore, { version: '7.0.0', port: minerPort, tag: 'stable' });
    const statement = createStatement({
      repository: ownerStore.repository,
      digest: built.index.digest,
      version: '7.0.0',
      channel: 'stable',
      sequence: 70,
    });
    const signed = encodeStatement(statement);
    const tampered = Buffer.from(signed.toString('utf8').replace('"sequence":70', '"sequence":71'));
    await storeReleaseStatement(ownerStore, {
      subject: built.index,
      statement: tampered,
      signature: signMessage(rotatedKey.secretKey, signed),
      channel: 'stable',
      sequence: 71,
      keyNumber: rotatedKey.secretKey.keyNumberHex,
      created: statement.created,
    });
    const before = (await fleetDevice(() => true)).lastSeq;
    expect(await check()).toMatchObject({ outcome: 'failed', errorCode: 'E_SIGNATURE' });
    expect(await waitForMinerVersion(minerPort, '5.0.0')).toBe('5.0.0');
    const row = await fleetDevice((r) => r.lastSeq > before);
    expect(row.lastError).toBe('E_SIGNATURE');
  });

  it('refuses a release that needs a newer agent (E_INCOMPATIBLE), and the report says so', async () => {
    await publishRelease(ownerStore, {
      version: '8.0.0',
      tag: 'stable',
      files: { 'bin/miner': { content: '#!/bin/sh\n', mode: 0o755 }, VERSION: '8.0.0\n' },
      keys: rotatedKey,
      minAgentVersion: '99.0.0',
    });
    expect(await check()).toMatchObject({ outcome: 'failed', errorCode: 'E_INCOMPATIBLE' });
    expect(await fleetDevice((row) => row.lastError === 'E_INCOMPATIBLE')).toMatchObject({
      lastError: 'E_INCOMPATIBLE',
    });
  });

  it('queues reports while the fleet is unreachable and delivers them when it is back', async () => {
    await fleet?.fleet.close();
    fleet = undefined;
    await check();
    await daemon.report();
    expect(daemon.snapshot().reportsQueued).toBeGreaterThanOrEqual(2);
    fleet = await startFleetServer({ db: fleetDb, listen: fleetListen }, fleetEnv);
    await daemon.report();
    expect(daemon.snapshot().reportsQueued).toBe(0);
    const sent = daemon.snapshot().reportSequence;
    expect((await fleetDevice((row) => row.lastSeq === sent)).lastSeq).toBe(sent);
  });
});
