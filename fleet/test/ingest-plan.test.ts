import { type DeviceRow, type VerifiedReport, planIngest } from '../src/ingest-plan';
import { makeReport, release } from './report-fixtures';

const T0 = Date.parse('2026-05-01T00:00:00Z');

function item(deviceId: string, key: string, seq: number, overrides = {}): VerifiedReport {
  return {
    deviceId,
    publicKey: key,
    receivedAt: T0 + seq,
    report: makeReport(deviceId, { seq, ...overrides }, T0),
  };
}

function stored(deviceId: string, key: string, lastSeq: number): DeviceRow {
  const plan = planIngest(new Map(), [item(deviceId, key, lastSeq)]);
  const row = plan.rows[0];
  if (row === undefined) throw new Error('fixture');
  return row;
}

describe('planIngest', () => {
  const A = 'device-aaaaaaaa';
  const B = 'device-bbbbbbbb';

  describe('when devices report in order', () => {
    it.each([
      ['a first report registers the device', [], [item(A, 'k1', 1)], [true]],
      ['a higher seq is accepted', [stored(A, 'k1', 4)], [item(A, 'k1', 5)], [true]],
      ['gaps in seq are fine (reports lost on the way)', [stored(A, 'k1', 4)], [item(A, 'k1', 90)], [true]],
      ['two devices in one batch', [], [item(A, 'k1', 1), item(B, 'k2', 1)], [true, true]],
      ['one device twice in a batch, in order', [], [item(A, 'k1', 1), item(A, 'k1', 2)], [true, true]],
    ])('%s', (_name, existing, batch, expected) => {
      const plan = planIngest(new Map(existing.map((r) => [r.deviceId, r])), batch);
      expect(plan.outcomes.map((o) => o.accepted)).toEqual(expected);
    });
  });

  describe('when a report must be refused', () => {
    it.each([
      ['the same seq again (replay)', [stored(A, 'k1', 4)], [item(A, 'k1', 4)], 'replayed'],
      ['a lower seq', [stored(A, 'k1', 4)], [item(A, 'k1', 3)], 'replayed'],
      ['a replay inside one batch', [], [item(A, 'k1', 2), item(A, 'k1', 2)], 'replayed'],
      ['another key for a registered id', [stored(A, 'k1', 4)], [item(A, 'k2', 5)], 'key-changed'],
      ['another key inside one batch', [], [item(A, 'k1', 1), item(A, 'k2', 2)], 'key-changed'],
    ])('refuses %s', (_name, existing, batch, reason) => {
      const plan = planIngest(new Map(existing.map((r) => [r.deviceId, r])), batch);
      expect(plan.outcomes.at(-1)).toEqual({ accepted: false, reason });
    });

    it('changes nothing for a refused report', () => {
      const plan = planIngest(new Map([[A, stored(A, 'k1', 4)]]), [item(A, 'k2', 5), item(A, 'k1', 3)]);
      expect(plan.rows).toEqual([]);
      expect(plan.deltas).toEqual([]);
    });
  });

  describe('live counters', () => {
    it('moves a device from its old version to its new one', () => {
      const before = stored(A, 'k1', 1);
      const plan = planIngest(new Map([[A, before]]), [
        item(A, 'k1', 2, { current: release('2.0.0', 2), previous: release('1.0.0', 1), phase: 'committed' }),
      ]);
      expect(plan.deltas).toEqual(
        expect.arrayContaining([
          { version: '1.0.0', sourceKind: 'default', status: 'ok', delta: -1 },
          { version: '2.0.0', sourceKind: 'default', status: 'ok', delta: 1 },
        ]),
      );
      expect(plan.deltas).toHaveLength(2);
    });

    it('nets out a device that passes through states within one batch', () => {
      const plan = planIngest(new Map(), [
        item(A, 'k1', 1, { phase: 'downloading' }),
        item(A, 'k1', 2, { phase: 'rolled-back', lastError: 'E_HEALTH', rollbackCount: 1 }),
      ]);
      expect(plan.deltas).toEqual([
        { version: '1.0.0', sourceKind: 'default', status: 'rolled-back', delta: 1 },
      ]);
      expect(plan.rows).toHaveLength(1);
      expect(plan.rows[0]).toMatchObject({
        lastSeq: 2,
        status: 'rolled-back',
        rollbackCount: 1,
        registeredAt: T0 + 1,
      });
    });

    it('keeps the registration time of a known device', () => {
      const before = stored(A, 'k1', 1);
      const plan = planIngest(new Map([[A, before]]), [item(A, 'k1', 7)]);
      expect(plan.rows[0]?.registeredAt).toBe(before.registeredAt);
      expect(plan.rows[0]?.lastSeen).toBe(T0 + 7);
    });
  });
});
