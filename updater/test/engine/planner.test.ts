import { type EngineStep, planCheck, planRecovery, planRollback, planUpdate } from '@minerhaul/updater';
import type { JournalRecord, ReleaseRecord, StagedRelease } from '@minerhaul/updater';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const release = (n: number, manifest = String(n)): StagedRelease => ({
  digest: d(`${n}`.slice(-1)),
  manifestDigest: d(`${manifest}`.replace(/\d/g, (x) => String.fromCharCode(97 + Number(x)))),
  version: `${n}.0.0`,
  sequence: n,
  repository: 'miner',
  channel: 'stable',
  config: { entrypoint: ['/opt/miner/bin/miner'], cmd: [], env: [] },
  blobs: [],
});
const v1 = release(1);
const v2 = release(2);
const record = (fields: Partial<JournalRecord>): JournalRecord => ({
  format: 'minerhaul.engine-journal/v1',
  seq: 3,
  rollbackCount: 0,
  ...fields,
});

describe('planCheck', () => {
  it.each<[string, ReleaseRecord | undefined, string | undefined, string]>([
    ['nothing installed, tag found', undefined, v1.digest, 'verify'],
    ['tag missing', v1, undefined, 'not-found'],
    ['digest unchanged', v1, v1.digest, 'unchanged'],
    ['digest changed', v1, v2.digest, 'verify'],
  ])('when %s returns the right decision', (_name, current, resolved, expected) => {
    expect(planCheck(current, resolved)).toBe(expected);
  });

  it('returns rejected for the digest of a release that failed, and verify once the tag moves', () => {
    expect(planCheck(v1, v2.digest, v2.digest)).toBe('rejected');
    expect(planCheck(v1, d('f'), v2.digest)).toBe('verify');
    expect(planCheck(v1, v1.digest, v1.digest)).toBe('unchanged');
  });
});

describe('planUpdate', () => {
  const target: ReleaseRecord = { ...v2 };
  const kinds = (steps: EngineStep[]): string[] => steps.map((s) => s.kind);

  it('returns the full lifecycle for a first install', () => {
    const steps = planUpdate({ target, blobs: ['c', 'l1', 'l2'], held: new Set(), usesBlobStore: true });
    expect(kinds(steps)).toEqual(['stage', 'swap', 'health', 'commit', 'gc', 'settle']);
    expect(steps[0]).toEqual({ kind: 'stage', target, fetch: ['c', 'l1', 'l2'] });
    expect(steps[1]).toEqual({ kind: 'swap', target: v2.manifestDigest });
    expect(steps[4]).toEqual({ kind: 'gc', keep: [v2.manifestDigest] });
  });

  it('fetches only the blobs not held, each once', () => {
    const steps = planUpdate({
      current: v1,
      target,
      blobs: ['c2', 'shared', 'new', 'new'],
      held: new Set(['shared']),
      usesBlobStore: true,
    });
    expect(steps[0]).toEqual({ kind: 'stage', target, fetch: ['c2', 'new'] });
    expect(steps[1]).toEqual({ kind: 'swap', target: v2.manifestDigest, from: v1.manifestDigest });
    expect(steps[4]).toEqual({ kind: 'gc', keep: [v2.manifestDigest, v1.manifestDigest] });
  });

  it('fetches nothing itself when the runtime pulls by digest', () => {
    const steps = planUpdate({
      current: v1,
      target,
      blobs: ['c', 'l'],
      held: new Set(),
      usesBlobStore: false,
    });
    expect(steps[0]).toEqual({ kind: 'stage', target, fetch: [] });
  });

  it('adopts a re-pushed index that leaves this platform unchanged, without a swap', () => {
    const repushed = { ...v1, digest: d('f'), sequence: 5 };
    expect(
      planUpdate({ current: v1, target: repushed, blobs: [], held: new Set(), usesBlobStore: true }),
    ).toEqual([{ kind: 'adopt', target: repushed }, { kind: 'settle' }]);
  });

  it('returns nothing when the target is exactly the installed release', () => {
    expect(
      planUpdate({ current: v1, target: { ...v1 }, blobs: [], held: new Set(), usesBlobStore: true }),
    ).toEqual([]);
  });
});

describe('planRollback', () => {
  it('returns to the previous release and discards the failed one', () => {
    expect(planRollback(v1, v2, 'E_HEALTH')).toEqual([
      {
        kind: 'rollback',
        to: v1.manifestDigest,
        failed: v2.manifestDigest,
        reason: 'E_HEALTH',
        reject: true,
      },
      { kind: 'discard', target: v2.manifestDigest },
      { kind: 'settle' },
    ]);
  });

  it('keeps the only verified release on a first install rather than no miner', () => {
    expect(planRollback(undefined, v2, 'E_HEALTH').map((s) => s.kind)).toEqual(['commit', 'gc', 'settle']);
  });
});

describe('planRecovery', () => {
  const cases: Array<[string, Partial<JournalRecord>, EngineStep[]]> = [
    ['a fresh device', {}, []],
    ['a clean journal', { current: v1 }, [{ kind: 'ensure-running', target: v1.manifestDigest }]],
    [
      'a crash while verifying',
      { current: v1, step: { name: 'verify', digest: v2.digest } },
      [{ kind: 'ensure-running', target: v1.manifestDigest }, { kind: 'settle' }],
    ],
    [
      'a crash while staging',
      { current: v1, step: { name: 'stage', target: v2 } },
      [
        { kind: 'discard', target: v2.manifestDigest },
        { kind: 'ensure-running', target: v1.manifestDigest },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash while staging the release already held as previous',
      { current: v2, previous: v1, step: { name: 'stage', target: v1 } },
      [{ kind: 'ensure-running', target: v2.manifestDigest }, { kind: 'settle' }],
    ],
    [
      'a crash during the swap',
      { current: v1, step: { name: 'swap', target: v2 } },
      [
        {
          kind: 'rollback',
          to: v1.manifestDigest,
          failed: v2.manifestDigest,
          reason: 'E_HEALTH',
          reject: false,
        },
        { kind: 'discard', target: v2.manifestDigest },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash during the health check',
      { current: v1, step: { name: 'health', target: v2 } },
      [
        {
          kind: 'rollback',
          to: v1.manifestDigest,
          failed: v2.manifestDigest,
          reason: 'E_HEALTH',
          reject: false,
        },
        { kind: 'discard', target: v2.manifestDigest },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash during the swap of a first install',
      { step: { name: 'swap', target: v2 } },
      [
        { kind: 'ensure-running', target: v2.manifestDigest },
        { kind: 'health', target: v2.manifestDigest },
        { kind: 'commit', target: v2.manifestDigest },
        { kind: 'gc', keep: [v2.manifestDigest] },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash during a rollback',
      { current: v1, step: { name: 'rollback', failed: v2, reason: 'E_HEALTH' } },
      [
        {
          kind: 'rollback',
          to: v1.manifestDigest,
          failed: v2.manifestDigest,
          reason: 'E_HEALTH',
          reject: false,
        },
        { kind: 'discard', target: v2.manifestDigest },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash during the rollback of a release that failed its health check',
      { current: v1, step: { name: 'rollback', failed: v2, reason: 'E_HEALTH', reject: true } },
      [
        {
          kind: 'rollback',
          to: v1.manifestDigest,
          failed: v2.manifestDigest,
          reason: 'E_HEALTH',
          reject: true,
        },
        { kind: 'discard', target: v2.manifestDigest },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash at commit (the point of no return)',
      { current: v1, step: { name: 'commit', target: v2 } },
      [
        { kind: 'ensure-running', target: v2.manifestDigest },
        { kind: 'commit', target: v2.manifestDigest },
        { kind: 'gc', keep: [v2.manifestDigest, v1.manifestDigest] },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash while committing an adopted digest',
      { current: v2, previous: v1, step: { name: 'commit', target: { ...v2, digest: d('9') } } },
      [
        { kind: 'ensure-running', target: v2.manifestDigest },
        { kind: 'commit', target: v2.manifestDigest },
        { kind: 'gc', keep: [v2.manifestDigest, v1.manifestDigest] },
        { kind: 'settle' },
      ],
    ],
    [
      'a crash during garbage collection',
      { current: v2, previous: v1, step: { name: 'gc' } },
      [
        { kind: 'ensure-running', target: v2.manifestDigest },
        { kind: 'gc', keep: [v2.manifestDigest, v1.manifestDigest] },
        { kind: 'settle' },
      ],
    ],
  ];

  it.each(cases)('when recovering from %s returns the right steps', (_name, fields, expected) => {
    expect(planRecovery(record(fields))).toEqual(expected);
  });

  it('never plans to run anything but a journalled (verified) release', () => {
    for (const [, fields] of cases) {
      const r = record(fields);
      const known = new Set(
        [r.current, r.previous, r.step && 'target' in r.step ? r.step.target : undefined]
          .filter((x) => x !== undefined)
          .map((x) => x.manifestDigest),
      );
      for (const step of planRecovery(r)) {
        if (step.kind === 'ensure-running' || step.kind === 'swap') expect(known.has(step.target)).toBe(true);
        if (step.kind === 'rollback') expect(step.to).toBe(r.current?.manifestDigest);
      }
    }
  });
});
