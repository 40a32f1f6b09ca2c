import {
  BubblewrapRuntime,
  DockerRuntime,
  type EngineRuntime,
  type HealthCheck,
  healthCheckFor,
  type StagedRelease,
} from '@minerhaul/updater';

describe('the runtimes as the engine sees them', () => {
  it('plug into the engine ports (checked by the compiler) with their kinds', () => {
    // These assignments are the test: tsc -p tsconfig.test.json fails if the shapes drift apart.
    const runtimes: EngineRuntime[] = [
      new BubblewrapRuntime({ stateDir: '/nonexistent/state', dataDir: '/nonexistent/data' }),
      new DockerRuntime({ socketPath: '/nonexistent/docker.sock' }),
    ];
    expect(runtimes.map((r) => r.kind)).toEqual(['bubblewrap', 'docker']);
    const check: HealthCheck = healthCheckFor(
      { kind: 'running', stableSeconds: 0 },
      runtimes[0] as BubblewrapRuntime,
    );
    expect(typeof check).toBe('function');
  });

  it('accept the engine staged release (a superset of RuntimeRelease)', async () => {
    const staged: StagedRelease = {
      digest: `sha256:${'1'.repeat(64)}`,
      manifestDigest: `sha256:${'2'.repeat(64)}`,
      version: '1.0.0',
      sequence: 1,
      repository: 'miner',
      channel: 'stable',
      config: { entrypoint: ['/miner'], cmd: [], env: [] },
      blobs: [],
    };
    const runtime = new BubblewrapRuntime({ stateDir: '/nonexistent/state', dataDir: '/nonexistent/data' });
    // No bubblewrap staging in this release: a clear configuration error, not a crash.
    await expect(runtime.prepare(staged)).rejects.toMatchObject({ code: 'E_CONFIG' });
    const docker = new DockerRuntime({ socketPath: '/nonexistent/docker.sock' });
    await expect(docker.prepare(staged)).rejects.toMatchObject({ code: 'E_CONFIG' });
  });

  it('report E_RUNTIME when the Docker engine is unreachable', async () => {
    const docker = new DockerRuntime({ socketPath: '/nonexistent/docker.sock' });
    await expect(docker.current()).rejects.toMatchObject({ code: 'E_RUNTIME' });
  });

  it('report E_RUNTIME when the release directory is missing', async () => {
    const runtime = new BubblewrapRuntime({ stateDir: '/nonexistent/state', dataDir: '/nonexistent/data' });
    const release = {
      digest: 'sha256:x',
      manifestDigest: 'sha256:x',
      version: '1',
      sequence: 1,
      bubblewrap: { releaseDir: '/nonexistent/release', mode: 'slim' as const },
      config: { entrypoint: ['/miner'], cmd: [], env: [] },
    };
    await expect(runtime.prepare(release)).rejects.toMatchObject({ code: 'E_RUNTIME' });
  });
});
