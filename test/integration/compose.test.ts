import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateAgentConfig } from '@minerhaul/hotspot-agent';
import { requireTool } from '../support/require-tool';

const ROOT = join(__dirname, '..', '..');
const TOKEN = 'compose-test-admin-token-0123456789';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  network_mode?: string;
  depends_on?: Record<string, unknown>;
  command?: string[];
}

interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** `docker-compose config` resolves, validates and normalises the file; YAML → JSON through PyYAML (its own dependency). */
async function composeConfig(env: NodeJS.ProcessEnv): Promise<{ run: Run; config?: ComposeConfig }> {
  const out = await run(requireTool('docker-compose'), ['-f', 'docker-compose.yml', 'config'], env);
  if (out.code !== 0) return { run: out };
  const json = await run(
    requireTool('python3'),
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { PATH: process.env.PATH },
    out.stdout,
  );
  expect(json.code).toBe(0);
  return { run: out, config: JSON.parse(json.stdout) as ComposeConfig };
}

/** `SRC:DST[:MODE]` volume entries of a service, split. */
function mounts(
  service: ComposeService | undefined,
): Array<{ source: string; target: string; mode: string }> {
  return (service?.volumes ?? []).map((v) => {
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, mode };
  });
}

describe('docker-compose.yml', () => {
  const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

  describe('when the admin token is set', () => {
    let config: ComposeConfig;

    beforeAll(async () => {
      const result = await composeConfig({ ...baseEnv, MINERHAUL_FLEET_ADMIN_TOKEN: TOKEN });
      expect(result.run.stderr).toBe('');
      expect(result.run.code).toBe(0);
      config = result.config as ComposeConfig;
    });

    it('defines the registry, the fleet server and the agent', () => {
      expect(Object.keys(config.services).sort()).toEqual(['agent', 'fleet', 'registry']);
      expect(config.services.registry?.image).toBe('registry:2');
      expect(config.services.fleet?.build).toEqual({
        context: ROOT,
        dockerfile: 'images/fleet/Containerfile',
      });
      expect(config.services.agent?.build).toEqual({
        context: ROOT,
        dockerfile: 'images/agent/Containerfile',
      });
      expect(Object.keys(config.services.agent?.depends_on ?? {}).sort()).toEqual(['fleet', 'registry']);
    });

    it('keeps state in named volumes: registry blobs, fleet database, agent state', () => {
      expect(Object.keys(config.volumes).sort()).toEqual(['agent-state', 'fleet-data', 'registry-data']);
      expect(mounts(config.services.registry)).toContainEqual({
        source: 'registry-data',
        target: '/var/lib/registry',
        mode: 'rw',
      });
      expect(mounts(config.services.fleet)).toContainEqual({
        source: 'fleet-data',
        target: '/var/lib/minerhaul-fleet',
        mode: 'rw',
      });
      expect(mounts(config.services.agent)).toContainEqual({
        source: 'agent-state',
        target: '/var/lib/minerhaul',
        mode: 'rw',
      });
      // The fleet's SQLite database is in its volume.
      expect(config.services.fleet?.command).toEqual([
        '--db',
        'sqlite:/var/lib/minerhaul-fleet/fleet.db',
        '--listen',
        '0.0.0.0:8080',
      ]);
    });

    it("gives the host's Docker socket to the agent only, on the host network", () => {
      const socket = { source: '/var/run/docker.sock', target: '/var/run/docker.sock', mode: 'rw' };
      expect(mounts(config.services.agent)).toContainEqual(socket);
      expect(config.services.agent?.network_mode).toBe('host');
      for (const name of ['registry', 'fleet']) {
        expect(mounts(config.services[name]).map((m) => m.source)).not.toContain('/var/run/docker.sock');
      }
    });

    it('publishes every port on 127.0.0.1 only', () => {
      const ports = Object.values(config.services).flatMap((s) => s.ports ?? []);
      expect(ports.length).toBeGreaterThanOrEqual(2);
      for (const p of ports) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+\/tcp$/);
    });

    it('passes the admin token to the fleet server through the environment', () => {
      expect(config.services.fleet?.environment?.MINERHAUL_FLEET_ADMIN_TOKEN).toBe(TOKEN);
    });

    it("mounts an agent config the agent's schema accepts, wired to the registry, the fleet and the socket", () => {
      const etc = mounts(config.services.agent).find((m) => m.target === '/etc/minerhaul');
      expect(etc?.mode).toBe('ro');
      const agent = validateAgentConfig(
        JSON.parse(readFileSync(join(etc?.source ?? '', 'agent.json'), 'utf8')),
      );
      expect(agent.runtime).toMatchObject({ kind: 'docker', socketPath: '/var/run/docker.sock' });
      expect(agent.stateDir).toBe('/var/lib/minerhaul');
      const registryPort = /^127\.0\.0\.1:(\d+):/.exec(config.services.registry?.ports?.[0] ?? '')?.[1];
      const fleetPort = /^127\.0\.0\.1:(\d+):/.exec(config.services.fleet?.ports?.[0] ?? '')?.[1];
      expect(agent.defaultSource?.ref).toBe(`127.0.0.1:${registryPort}/sample-miner:stable`);
      expect(agent.fleet?.url).toBe(`http://127.0.0.1:${fleetPort}`);
      // The miner (host network) answers its health check on a port no service publishes.
      const healthPort = new URL(agent.health?.url ?? 'http://x').port;
      expect([registryPort, fleetPort]).not.toContain(healthPort);
      expect(agent.runtime.env?.MINER_PORT).toBe(healthPort);
    });
  });

  describe('when the admin token is not set', () => {
    it('refuses to resolve, naming the variable', async () => {
      const result = await composeConfig(baseEnv);
      expect(result.run.code).not.toBe(0);
      expect(result.run.stderr).toContain('MINERHAUL_FLEET_ADMIN_TOKEN');
    });
  });

  describe('the image specs it builds from', () => {
    it.each([
      'images/fleet/Containerfile',
      'images/agent/Containerfile',
      'images/sample-miner/Containerfile',
    ])('%s copies only files the repository has (dist/ comes from npm run build)', (spec) => {
      const text = readFileSync(join(ROOT, spec), 'utf8');
      const sources = [...text.matchAll(/^COPY (\S+)/gm)].map((m) => m[1] ?? '');
      expect(sources.length).toBeGreaterThan(0);
      for (const source of sources) {
        if (!source.endsWith('/dist')) expect(existsSync(join(ROOT, source))).toBe(true);
      }
    });

    it('runs the fleet server through the CLI entry that exists in the repository', () => {
      const text = readFileSync(join(ROOT, 'images/fleet/Containerfile'), 'utf8');
      const entry = /^ENTRYPOINT \["node", "\/opt\/minerhaul\/([^"]+)", "fleet", "serve"\]$/m.exec(text);
      expect(entry?.[1]).toBe('cli/bin/minerhaul.js');
      expect(existsSync(join(ROOT, entry?.[1] ?? 'missing'))).toBe(true);
    });
  });
});
