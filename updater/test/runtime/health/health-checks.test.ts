import {
  checkDockerHealth,
  checkExec,
  checkHealth,
  checkHttp,
  checkRunning,
  healthCheckFor,
} from '@minerhaul/updater';
import { DIGEST, fakeClock, miner, targetSeeing } from './fake-target';
import { rejectedCode as codeOf } from '../../../../test/support/error-code';

function answering(statuses: number[]): typeof fetch & { calls: number } {
  const impl = Object.assign(
    async () => {
      const status = statuses[Math.min(impl.calls, statuses.length - 1)] as number;
      impl.calls += 1;
      return new Response(status === 204 ? null : 'body', { status });
    },
    { calls: 0 },
  );
  return impl as unknown as typeof fetch & { calls: number };
}

describe('checkRunning', () => {
  it('passes when the same process stays up for stableSeconds', async () => {
    const clock = fakeClock();
    const target = targetSeeing([miner()]);
    await checkRunning(target, DIGEST, 3, { clock, intervalMs: 500 });
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(target.calls).toBe(7);
  });

  it.each([
    ['it restarted', [miner(), miner(), miner({ restartCount: 1, pid: 101 })]],
    ['another process took its place', [miner(), miner({ pid: 222, startedAt: '2026-01-01T00:00:05Z' })]],
    ['it stopped', [miner(), miner({ running: false })]],
    ['it disappeared', [miner(), undefined]],
    ['another release runs', [miner({ digest: 'sha256:other' })]],
  ])('fails with E_HEALTH when %s', async (_name, states) => {
    expect(await codeOf(checkRunning(targetSeeing(states), DIGEST, 3, { clock: fakeClock() }))).toBe(
      'E_HEALTH',
    );
  });
});

describe('checkHttp', () => {
  const url = 'http://127.0.0.1:9/health';

  it('retries until a 2xx arrives', async () => {
    const fetchImpl = answering([503, 500, 204]);
    await checkHttp(targetSeeing([miner()]), DIGEST, url, 10, { clock: fakeClock(), fetchImpl });
    expect(fetchImpl.calls).toBe(3);
  });

  it('fails with E_HEALTH at the deadline, after bounded attempts', async () => {
    const fetchImpl = answering([500]);
    const clock = fakeClock();
    expect(
      await codeOf(checkHttp(targetSeeing([miner()]), DIGEST, url, 5, { clock, fetchImpl, intervalMs: 500 })),
    ).toBe('E_HEALTH');
    expect(fetchImpl.calls).toBe(10);
  });

  it('counts a redirect as a failure', async () => {
    const fetchImpl = answering([302]);
    expect(
      await codeOf(checkHttp(targetSeeing([miner()]), DIGEST, url, 1, { clock: fakeClock(), fetchImpl })),
    ).toBe('E_HEALTH');
  });

  it('treats a refused connection as a failed attempt', async () => {
    const fetchImpl = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    expect(
      await codeOf(checkHttp(targetSeeing([miner()]), DIGEST, url, 2, { clock: fakeClock(), fetchImpl })),
    ).toBe('E_HEALTH');
  });

  it('fails at once when another release answers', async () => {
    const fetchImpl = answering([200]);
    const target = targetSeeing([miner({ digest: 'sha256:other' })]);
    expect(await codeOf(checkHttp(target, DIGEST, url, 5, { clock: fakeClock(), fetchImpl }))).toBe(
      'E_HEALTH',
    );
    expect(fetchImpl.calls).toBe(0);
  });

  it.each(['not a url', 'file:///etc/passwd', 'ftp://127.0.0.1/x'])(
    'refuses %p with E_CONFIG',
    async (bad) => {
      expect(await codeOf(checkHttp(targetSeeing([miner()]), DIGEST, bad, 5, { clock: fakeClock() }))).toBe(
        'E_CONFIG',
      );
    },
  );

  it('stops on abort without reporting E_HEALTH', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const err = await checkHttp(targetSeeing([miner()]), DIGEST, url, 5, {
      clock: fakeClock(),
      fetchImpl: answering([500]),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('shutting down');
  });
});

describe('checkExec', () => {
  it('passes when the command exits 0', async () => {
    await expect(checkExec(['sh', '-c', 'exit 0'], 5)).resolves.toBeUndefined();
  });

  it('fails with E_HEALTH when the command keeps failing', async () => {
    expect(await codeOf(checkExec(['sh', '-c', 'echo broken; exit 1'], 1, { intervalMs: 200 }))).toBe(
      'E_HEALTH',
    );
  });

  it('refuses a command that cannot run, or none, with E_CONFIG', async () => {
    expect(await codeOf(checkExec(['/nonexistent/health-probe'], 1))).toBe('E_CONFIG');
    expect(await codeOf(checkExec([], 1))).toBe('E_CONFIG');
  });
});

describe('checkDockerHealth', () => {
  it('waits through starting until healthy', async () => {
    const target = targetSeeing([
      miner({ health: 'starting' }),
      miner({ health: 'starting' }),
      miner({ health: 'healthy' }),
    ]);
    await checkDockerHealth(target, DIGEST, 30, { clock: fakeClock() });
    expect(target.calls).toBe(3);
  });

  it('fails at once on unhealthy', async () => {
    const target = targetSeeing([miner({ health: 'unhealthy' })]);
    expect(await codeOf(checkDockerHealth(target, DIGEST, 30, { clock: fakeClock() }))).toBe('E_HEALTH');
    expect(target.calls).toBe(1);
  });

  it('fails when still starting at the deadline', async () => {
    const target = targetSeeing([miner({ health: 'starting' })]);
    expect(await codeOf(checkDockerHealth(target, DIGEST, 5, { clock: fakeClock() }))).toBe('E_HEALTH');
  });

  it('falls back to the running check without a HEALTHCHECK', async () => {
    const stable = targetSeeing([miner({ health: 'none' })]);
    await checkDockerHealth(stable, DIGEST, 5, { clock: fakeClock() });
    expect(stable.calls).toBeGreaterThan(2);
    const none = miner({ health: 'none' });
    const crashing = targetSeeing([none, none, miner({ health: 'none', restartCount: 2 })]);
    expect(await codeOf(checkDockerHealth(crashing, DIGEST, 5, { clock: fakeClock() }))).toBe('E_HEALTH');
  });
});

describe('checkHealth', () => {
  it('adds a stability window after the first success when stableSeconds is set', async () => {
    const target = targetSeeing([miner(), miner(), miner({ restartCount: 1 })]);
    const spec = { kind: 'http' as const, url: 'http://127.0.0.1:9/', timeoutSeconds: 5, stableSeconds: 5 };
    expect(
      await codeOf(checkHealth(spec, target, DIGEST, { clock: fakeClock(), fetchImpl: answering([200]) })),
    ).toBe('E_HEALTH');
  });

  it('gives the engine a HealthCheck bound to the release digest', async () => {
    const check = healthCheckFor({ kind: 'running', stableSeconds: 1 }, targetSeeing([miner()]), {
      clock: fakeClock(),
    });
    await expect(check({ digest: DIGEST })).resolves.toBeUndefined();
    expect(await codeOf(check({ digest: 'sha256:another' }))).toBe('E_HEALTH');
  });
});
