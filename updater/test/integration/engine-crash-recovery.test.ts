import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ImageStore, openStore, signImage } from '@minerhaul/registry-tools';
import {
  BubblewrapRuntime,
  type CreateUpdateEngineInput,
  JOURNAL_FILE,
  JOURNAL_STEP_NAMES,
  type JournalRecord,
} from '@minerhaul/updater';
import { startDockerd, type TestDockerd } from '../../../test/support/dockerd';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { requireTool } from '../../../test/support/require-tool';
import { freePort, minerGet, waitForMinerVersion } from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { runEngineChild } from '../engine/crash-child';
import { publishMinerImage } from '../engine/miner-image';
import { makeTestKeys, type TestKeys } from '../engine/release-fixtures';

/**
 * Crash recovery: for every journal step, the engine (a child process) SIGKILLs itself right after
 * journalling that step; a restarted engine must leave a verified release running -- the old one
 * before the commit record, the new one from it on -- never none and never an unverified one.
 */
const cases: Array<{ step: string; target: 'update' | 'unhealthy'; afterRecovery: 'old' | 'new' }> = [
  { step: 'verify', target: 'update', afterRecovery: 'old' },
  { step: 'stage', target: 'update', afterRecovery: 'old' },
  { step: 'swap', target: 'update', afterRecovery: 'old' },
  { step: 'health', target: 'update', afterRecovery: 'old' },
  { step: 'commit', target: 'update', afterRecovery: 'new' },
  { step: 'gc', target: 'update', afterRecovery: 'new' },
  { step: 'rollback', target: 'unhealthy', afterRecovery: 'old' },
];

it('covers every journal step', () => {
  // A step added to the journal without a crash case here would go untested.
  expect(cases.map((c) => c.step).sort()).toEqual([...JOURNAL_STEP_NAMES].sort());
});

/** Each runtime, and docker also from a source it cannot pull from (images loaded from the blob store). */
const variants = [
  { name: 'bubblewrap', kind: 'bubblewrap', source: 'registry' },
  { name: 'docker', kind: 'docker', source: 'registry' },
  { name: 'docker from an oci-layout source', kind: 'docker', source: 'layout' },
] as const;

for (const { name, kind, source } of variants) {
  describe(`UpdateEngine crash recovery on ${name}`, () => {
    const tmp = makeTmpDir(`engine-crash-${kind}-${source}-`);
    let registry: RunningRegistry | undefined;
    let dockerd: TestDockerd | undefined;
    let store: ImageStore;
    let keys: TestKeys;
    let port: number;
    let sequence = 0;
    const stateDir = join(tmp.path, 'state');
    const dataDir = join(tmp.path, 'data');
    const digestOf: Record<string, string> = {};
    let input: CreateUpdateEngineInput;

    const journal = (): JournalRecord =>
      JSON.parse(readFileSync(join(stateDir, JOURNAL_FILE), 'utf8')) as JournalRecord;

    /** Points `stable` at an image built under tag `version`, with a fresh higher-sequence statement. */
    async function release(version: string): Promise<void> {
      const top = await store.getManifest(version);
      if (top === undefined) throw new Error(`no image ${version}`);
      await store.putManifest(top.bytes, top.descriptor.mediaType, 'stable');
      sequence += 1;
      await signImage(store, { reference: 'stable', secretKey: keys.secretKey, channel: 'stable', sequence });
    }

    beforeAll(async () => {
      if (kind === 'bubblewrap') requireTool('bwrap');
      else dockerd = await startDockerd();
      let ref: string;
      if (source === 'registry') {
        registry = await startRegistry();
        ref = `${registry.host}/miner:stable`;
      } else {
        ref = `oci-layout:${join(tmp.path, 'layout')}:stable`;
      }
      store = openStore(ref);
      keys = makeTestKeys();
      port = await freePort();
      for (const [version, failHealth] of [
        ['1.0.0', false],
        ['2.0.0', false],
        ['9.0.0', true],
      ] as const) {
        const built = await publishMinerImage(store, { version, port, tag: version, failHealth });
        digestOf[version] = built.index.digest;
      }
      input = {
        stateDir,
        source: { ref },
        trust: { keys: [keys.publicKeyText.split('\n')[1] ?? ''] },
        runtime:
          kind === 'bubblewrap'
            ? { kind, mode: 'slim', dataDir }
            : { kind, socketPath: dockerd?.socketPath ?? '', containerName: 'crash-test' },
        health: { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeoutSeconds: 3 },
      };
      await release('1.0.0');
      const first = await runEngineChild('check', input);
      expect(first.result).toMatchObject({ ok: true, status: { current: { version: '1.0.0' } } });
    }, 120_000);

    afterAll(async () => {
      if (kind === 'bubblewrap') await new BubblewrapRuntime({ stateDir, dataDir }).stop();
      await dockerd?.stop();
      await registry?.stop();
      tmp.cleanup();
    }, 60_000);

    /** The running miner is a verified, journalled release, and the one the journal calls current. */
    async function expectVerifiedRunning(expected: string): Promise<void> {
      expect(await waitForMinerVersion(port, expected)).toBe(expected);
      const j = journal();
      expect(j.step).toBeUndefined();
      expect(j.current?.version).toBe(expected);
      expect(j.current?.digest).toBe(digestOf[expected]);
      expect((await minerGet(port, '/health'))?.status).toBe(200);
      if (dockerd !== undefined) {
        // Two miners never run together.
        expect((await dockerd.docker(['ps', '-q'])).trim().split('\n')).toHaveLength(1);
      }
    }

    it('recovers to a verified running release after a SIGKILL at every journal step', async () => {
      for (const c of cases) {
        const old = journal().current?.version ?? '';
        const next = c.target === 'unhealthy' ? '9.0.0' : old === '1.0.0' ? '2.0.0' : '1.0.0';
        await release(next);

        const crashed = await runEngineChild('check', input, c.step);
        expect({ step: c.step, signal: crashed.signal }).toEqual({ step: c.step, signal: 'SIGKILL' });
        expect(journal().step?.name).toBe(c.step);

        const recovered = await runEngineChild('start', input);
        expect({ step: c.step, result: recovered.result?.ok }).toEqual({ step: c.step, result: true });
        await expectVerifiedRunning(c.afterRecovery === 'old' ? old : next);

        // The next cycle finishes the update, or, for the unhealthy release, leaves it rejected.
        const again = await runEngineChild('check', input);
        expect({ step: c.step, result: again.result?.ok }).toEqual({ step: c.step, result: true });
        if (c.target === 'unhealthy') {
          expect(again.result?.status).toMatchObject({ rejected: { version: next, reason: 'E_HEALTH' } });
          await expectVerifiedRunning(old);
        } else {
          await expectVerifiedRunning(next);
        }
      }
    }, 600_000);
  });
}
