import { buildAdoptionReport, windowStart } from '../src/adoption-view';
import type { AdoptionData } from '../src/fleet-store';

const H = 3600_000;
const NOW = Date.parse('2026-05-02T10:30:00Z');
const B = Math.floor(NOW / H) * H;

function data(partial: Partial<AdoptionData>): AdoptionData {
  return { counters: [], history: [], silentCount: 0, failing: [], rolledBack: [], silent: [], ...partial };
}

describe('buildAdoptionReport', () => {
  const w = { now: NOW, bucketMs: H, points: 4, silentAfterMs: 2 * H };

  it('starts the window points-1 buckets before the current one', () => {
    expect(windowStart(w)).toBe(B - 3 * H);
  });

  it('sums counters into totals, sources and versions', () => {
    const r = buildAdoptionReport(
      data({
        counters: [
          { version: '1.0.0', sourceKind: 'default', status: 'ok', devices: 5 },
          { version: '1.0.0', sourceKind: 'default', status: 'rolled-back', devices: 2 },
          { version: '2.0.0', sourceKind: 'default', status: 'updating', devices: 1 },
          { version: '2.0.0', sourceKind: 'custom', status: 'failing', devices: 3 },
          { version: '3.0.0', sourceKind: 'custom', status: 'ok', devices: 0 },
        ],
        silentCount: 4,
      }),
      w,
    );
    expect(r.totals).toEqual({ devices: 11, ok: 5, updating: 1, failing: 3, rolledBack: 2, silent: 4 });
    expect(r.bySource).toEqual({ default: 8, custom: 3 });
    expect(r.byVersion.map((v) => [v.version, v.devices, v.custom, v.rolledBack])).toEqual([
      ['1.0.0', 7, 0, 2],
      ['2.0.0', 4, 3, 0],
    ]);
  });

  it('carries a bucket without writes forward and splits default from custom', () => {
    const r = buildAdoptionReport(
      data({
        history: [
          { bucket: B - 3 * H, version: '1.0.0', sourceKind: 'default', devices: 10 },
          { bucket: B - H, version: '1.0.0', sourceKind: 'default', devices: 6 },
          { bucket: B - H, version: '2.0.0', sourceKind: 'default', devices: 3 },
          { bucket: B - H, version: '2.0.0', sourceKind: 'custom', devices: 1 },
        ],
      }),
      w,
    );
    expect(r.series.buckets).toEqual([B - 3 * H, B - 2 * H, B - H, B]);
    expect(r.series.versions).toEqual([
      { version: '1.0.0', devices: [10, 10, 6, 6] },
      { version: '2.0.0', devices: [0, 0, 4, 4] },
    ]);
    expect(r.series.sources).toEqual({ default: [10, 10, 9, 9], custom: [0, 0, 1, 1] });
  });

  it('opens the window with the last snapshot taken before it', () => {
    const r = buildAdoptionReport(
      data({
        history: [
          { bucket: B - 40 * H, version: '1.0.0', sourceKind: 'default', devices: 7 },
          { bucket: B - H, version: '1.0.0', sourceKind: 'default', devices: 5 },
        ],
      }),
      w,
    );
    expect(r.series.versions).toEqual([{ version: '1.0.0', devices: [7, 7, 5, 5] }]);
  });

  it('turns last-seen times into ISO strings in the device lists', () => {
    const device = {
      deviceId: 'dev-aaaaaaaa',
      agentVersion: '0.1.0',
      sourceKind: 'default' as const,
      sourceRef: 'r',
      version: '1.0.0',
      phase: 'idle',
      status: 'ok' as const,
      lastError: null,
      lastSeen: NOW - 5 * H,
      rollbackCount: 0,
    };
    const r = buildAdoptionReport(data({ silent: [device], silentCount: 1 }), w);
    expect(r.silent).toEqual([{ ...device, lastSeen: new Date(NOW - 5 * H).toISOString() }]);
  });
});
