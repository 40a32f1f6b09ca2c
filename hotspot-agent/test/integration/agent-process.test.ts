import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAgentStatus } from '@minerhaul/hotspot-agent';
import { freePort } from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { baseConfig, writeConfig } from '../helpers/agent-fixtures';

const ENTRY = join(__dirname, '..', '..', 'bin', 'minerhaul-agent.js');

/**
 * The daemon as installed: `bin/minerhaul-agent.js run` in its own process (compiled code: needs
 * `npm run build`). Its source is a closed port, so it sits in backoff like an idle device.
 */
describe('minerhaul-agent run (process)', () => {
  const tmp = makeTmpDir('agent-process-');
  let agent: ChildProcess | undefined;
  afterAll(() => {
    agent?.kill('SIGKILL');
    tmp.cleanup();
  });

  it('serves its API, keeps the engine out of the resident process, and stops cleanly on SIGTERM', async () => {
    if (!existsSync(join(__dirname, '..', '..', 'dist', 'agent-main.js'))) {
      throw new Error('hotspot-agent/dist is missing: run npm run build first');
    }
    const port = await freePort();
    const configPath = writeConfig(
      tmp.path,
      baseConfig(tmp.path, {
        defaultSource: { ref: '127.0.0.1:1/vendor/miner:stable' },
        schedule: { jitterSeconds: 0 },
        api: { listen: `127.0.0.1:${port}` },
      }),
    );
    const stderr: string[] = [];
    const child = spawn(process.execPath, [ENTRY, 'run', '--config', configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    agent = child;
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));

    // The first check (jitter 0) fails against the closed port: the status then says so.
    let status: { lastErrorCode?: string; pid?: number } | undefined;
    for (let i = 0; i < 100 && status?.lastErrorCode === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`http://127.0.0.1:${port}/v1/status`)
        .then((r) => r.json())
        .catch(() => undefined)) as typeof status;
    }
    expect(status).toMatchObject({ lastErrorCode: 'E_REGISTRY', pid: child.pid });
    expect((await readAgentStatus(configPath)).running).toBe(true);
    // dockerode's native addons (ssh2, cpu-features) and the engine's modules stay out of the daemon.
    const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
    expect(maps).not.toMatch(/cpufeatures\.node|sshcrypto\.node/);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 15_000)));
    const code = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    expect(code).toBe(0);
    expect((await readAgentStatus(configPath)).running).toBe(false);
    expect(stderr.join('')).toContain('"msg":"agent started"');
  });
});
