import { existsSync } from 'node:fs';
import { ChunkRing } from '../../src/unpack/chunk-ring';
import { unpackWorkerEntry } from '../../src/unpack/unpack-worker-pool';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('ChunkRing', () => {
  describe('when chunks follow on', () => {
    it('groups them into one region until sealed', () => {
      const ring = new ChunkRing(new SharedArrayBuffer(64));
      expect(ring.tryPlace(bytes(8, 1))).toBe(true);
      expect(ring.tryPlace(bytes(8, 2))).toBe(true);
      expect(ring.seal()).toEqual({ offset: 0, length: 16 });
      expect(new Uint8Array(ring.buffer, 0, 16)).toEqual(new Uint8Array([...bytes(8, 1), ...bytes(8, 2)]));
      expect(ring.seal()).toBeUndefined();
    });
  });

  describe('when the ring is full', () => {
    it('refuses until the worker releases the oldest regions', () => {
      const ring = new ChunkRing(new SharedArrayBuffer(64));
      expect(ring.tryPlace(bytes(16, 1))).toBe(true);
      ring.seal();
      expect(ring.tryPlace(bytes(40, 2))).toBe(true);
      ring.seal();
      expect(ring.tryPlace(bytes(16, 3))).toBe(false); // 8 bytes left
      ring.release(1);
      expect(ring.tryPlace(bytes(16, 3))).toBe(true); // wraps to the freed start
      expect(ring.seal()).toEqual({ offset: 0, length: 16 });
    });

    it('never lets a region wrap: the open one is sealed first, the skipped tail stays held', () => {
      const ring = new ChunkRing(new SharedArrayBuffer(64));
      ring.tryPlace(bytes(48, 1));
      ring.seal();
      expect(ring.tryPlace(bytes(8, 2))).toBe(true); // 48..56
      expect(ring.tryPlace(bytes(16, 3))).toBe(false); // would cross the end
      expect(ring.seal()).toEqual({ offset: 48, length: 8 });
      expect(ring.tryPlace(bytes(16, 3))).toBe(false); // the first region still holds 0..48
      ring.release(1);
      expect(ring.tryPlace(bytes(16, 3))).toBe(true);
      expect(ring.seal()).toEqual({ offset: 0, length: 16 });
      // Held: 48..56, the skipped 56..64 and 0..16: 32 bytes free, not 40.
      expect(ring.tryPlace(bytes(40, 4))).toBe(false);
      expect(ring.tryPlace(bytes(32, 4))).toBe(true);
    });
  });
});

describe('unpackWorkerEntry', () => {
  it('points at an entry that exists (from sources here, through the TypeScript register)', () => {
    const entry = unpackWorkerEntry();
    expect(existsSync(entry.file)).toBe(true);
    expect(entry.execArgv?.[1]).toMatch(/ts-worker-register\.js$/);
  });
});
