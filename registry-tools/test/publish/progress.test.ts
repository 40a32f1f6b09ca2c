import {
  createJsonProgress,
  createProgress,
  createTtyProgress,
  formatBytes,
  silentProgress,
} from '../../src/progress';

const blob = { mediaType: 'application/octet-stream', digest: 'sha256:' + 'ab'.repeat(32), size: 2048 };

describe('progress', () => {
  describe('when output is JSON', () => {
    it('returns start, throttled progress and done lines', () => {
      const lines: string[] = [];
      let t = 0;
      const p = createJsonProgress((l) => lines.push(l), { intervalMs: 100, now: () => t });
      p.start(blob);
      t = 50;
      p.update({ digest: blob.digest, transferred: 512, total: 2048 }); // throttled
      t = 150;
      p.update({ digest: blob.digest, transferred: 1024, total: 2048 });
      p.done(blob);
      const events = lines.map((l) => JSON.parse(l) as { event: string; transferred?: number });
      expect(events.map((e) => e.event)).toEqual(['start', 'progress', 'done']);
      expect(events[1]?.transferred).toBe(1024);
      expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    });
  });

  describe('when output is a terminal', () => {
    it('draws a bar per blob and redraws in place', () => {
      let out = '';
      const p = createTtyProgress((s) => (out += s), { now: () => 0 });
      p.start(blob);
      p.done(blob);
      p.close();
      expect(out).toContain('abababababab [');
      expect(out).toContain('2.0 KiB/2.0 KiB done');
      expect(out).toContain('\u001b[1A'); // cursor up: redrawn, not appended
    });
  });

  describe('when the last update was throttled', () => {
    it('draws it on close', () => {
      let out = '';
      const p = createTtyProgress((s) => (out += s), { now: () => 0 });
      p.start(blob);
      p.update({ digest: blob.digest, transferred: 1024, total: 2048 });
      expect(out).not.toContain('50%');
      p.close();
      expect(out).toContain('1.0 KiB/2.0 KiB 50%');
    });
  });

  describe('when output is neither', () => {
    it('returns the silent reporter', () => {
      expect(createProgress({ write: () => undefined, isTty: false, json: false })).toBe(silentProgress);
    });
  });

  it('formats byte counts', () => {
    expect(formatBytes(10)).toBe('10 B');
    expect(formatBytes(150 * 1024 * 1024)).toBe('150.0 MiB');
  });
});
