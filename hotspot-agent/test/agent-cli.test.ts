import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '@minerhaul/cli';
import { AgentDaemon, agentMain } from '@minerhaul/hotspot-agent';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { generateKeyPair } from '@minerhaul/signing';
import { baseConfig, release, scriptedFactory, writeConfig } from './helpers/agent-fixtures';

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void err.push(t),
      env: {},
      stdin: Readable.from([]),
      stdoutIsTty: false,
    },
  };
}

describe('minerhaul agent (CLI)', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  const configPath = writeConfig(tmp.path, baseConfig(tmp.path));

  describe('agent status', () => {
    it('says so before the agent ever ran', async () => {
      const c = captureIo();
      expect(await main(['node', 'minerhaul', 'agent', 'status', '--config', configPath], c.io)).toBe(0);
      expect(c.out.join('')).toContain('has not run yet');
    });

    it('prints what runs and what ran before, or JSON with --json', async () => {
      const engines = scriptedFactory();
      const daemon = await AgentDaemon.open({ configPath, engineFactory: engines.factory });
      engines.engines[0]?.steps.push({ outcome: 'updated', release: release('1.2.3', 4) });
      await daemon.checkOnce();
      const human = captureIo();
      expect(await main(['node', 'minerhaul', 'agent', 'status', '--config', configPath], human.io)).toBe(0);
      expect(human.out.join('')).toMatch(/agent not running\n/);
      expect(human.out.join('')).toContain('running    1.2.3 (sequence 4');
      const json = captureIo();
      expect(
        await main(['node', 'minerhaul', '--json', 'agent', 'status', '--config', configPath], json.io),
      ).toBe(0);
      const view = JSON.parse(json.out.join('')) as {
        running: boolean;
        status: { current: { version: string } };
      };
      expect(view).toMatchObject({ running: false, status: { current: { version: '1.2.3' } } });
    });

    it('fails with error[E_CONFIG] and exit status 2 for a broken config', async () => {
      const broken = join(tmp.path, 'broken.json');
      writeFileSync(broken, '{"stateDir": 3}');
      const c = captureIo();
      expect(await main(['node', 'minerhaul', 'agent', 'status', '--config', broken], c.io)).toBe(2);
      expect(c.err.join('')).toMatch(/^error\[E_CONFIG\]: .*\/stateDir: must be string/);
    });
  });

  describe('agent check', () => {
    it('fails with error[E_CONFIG] for a missing config file', async () => {
      const c = captureIo();
      const code = await main(
        ['node', 'minerhaul', 'agent', 'check', '--config', join(tmp.path, 'none.json')],
        c.io,
      );
      expect(code).toBe(2);
      expect(c.err.join('')).toMatch(/^error\[E_CONFIG\]/);
    });
  });
});

describe('minerhaul agent config', () => {
  const tmp = makeTmpDir();
  const owner = generateKeyPair({ comment: 'owner' });
  const stranger = generateKeyPair({ comment: 'stranger' });
  const ownerSecret = join(tmp.path, 'owner.sec');
  const strangerSecret = join(tmp.path, 'stranger.sec');
  let daemon: AgentDaemon;
  /** `minerhaul agent config` signed with `key`, sent to the test daemon's API. */
  const configArgv = (key: string, patch: string): string[] => [
    'node',
    'minerhaul',
    'agent',
    'config',
    '--key',
    key,
    '--api',
    daemon.apiAddress ?? '',
    patch,
  ];

  beforeAll(async () => {
    writeFileSync(ownerSecret, owner.secretKey);
    writeFileSync(strangerSecret, stranger.secretKey);
    const configPath = writeConfig(
      tmp.path,
      baseConfig(tmp.path, {
        api: { listen: '127.0.0.1:0', ownerKeys: [owner.publicKey.split('\n')[1] ?? ''] },
      }),
    );
    daemon = await AgentDaemon.open({
      configPath,
      engineFactory: scriptedFactory().factory,
      cronTrigger: () => ({ stop: () => undefined }),
    });
    await daemon.start();
  });
  afterAll(async () => {
    await daemon.stop();
    tmp.cleanup();
  });

  it("switches the source with the owner's signed request", async () => {
    const c = captureIo();
    const patch = JSON.stringify({ source: { ref: '127.0.0.1:5001/me/miner:stable' } });
    expect(await main(configArgv(ownerSecret, patch), c.io)).toBe(0);
    expect(c.out.join('')).toBe('changed: source\n');
    expect(daemon.snapshot().source).toEqual({ kind: 'custom', ref: '127.0.0.1:5001/me/miner:stable' });
  });

  it('fails with error[E_SIGNATURE] for a key that is not an owner key, changing nothing', async () => {
    const c = captureIo();
    const patch = JSON.stringify({ source: null });
    expect(await main(configArgv(strangerSecret, patch), c.io)).toBe(1);
    expect(c.err.join('')).toMatch(/^error\[E_SIGNATURE\]/);
    expect(daemon.snapshot().source.kind).toBe('custom');
  });

  it('fails with error[E_CONFIG] for a patch that is not JSON', async () => {
    const c = captureIo();
    expect(await main(configArgv(ownerSecret, '{source'), c.io)).toBe(2);
    expect(c.err.join('')).toMatch(/^error\[E_CONFIG\]/);
  });
});

describe('minerhaul-agent (light entry)', () => {
  it('returns 2 with a usage line for an unknown command or argument', async () => {
    const err: string[] = [];
    expect(await agentMain(['serve'], (t) => void err.push(t))).toBe(2);
    expect(await agentMain(['run', '--verbose'], (t) => void err.push(t))).toBe(2);
    expect(err.join('')).toContain('usage: minerhaul-agent run|check');
  });

  it('returns 2 with error[E_CONFIG] for a missing config file', async () => {
    const err: string[] = [];
    expect(await agentMain(['check', '--config', '/nonexistent/agent.json'], (t) => void err.push(t))).toBe(
      2,
    );
    expect(err.join('')).toMatch(/^error\[E_CONFIG\]/);
  });
});
