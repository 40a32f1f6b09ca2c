import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One layer of the miner-like bench image: `files` files totalling about `megabytes` MB. */
export interface MinerLayerPlan {
  name: string;
  files: number;
  megabytes: number;
}

/**
 * A miner image as the issue measured it (157 MB in three layers, the largest ~104 MB): the
 * runtime's native libraries, the release's bytecode, and a few big native binaries.
 */
export const MINER_IMAGE_PLAN: MinerLayerPlan[] = [
  { name: 'libs', files: 160, megabytes: 104 },
  { name: 'beam', files: 1400, megabytes: 35 },
  { name: 'priv', files: 9, megabytes: 18 },
];

/** xorshift32: the same bytes on every machine, so every run and every engineer unpacks one image. */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

/**
 * Bytes that compress like code (gzip -6: ~2.7×, zstd about the same): short runs of fresh random
 * bytes between repeats of 16-127-byte pieces of an 8 KiB vocabulary, the way bytecode and machine
 * code repeat their opcodes, names and constants. Random bytes alone would make decompression free
 * and leave no work that a pipelined unpack could overlap.
 */
export function minerLikeBytes(size: number, seed: number): Buffer {
  const next = generator(seed);
  const vocabulary = Buffer.alloc(8192);
  for (let i = 0; i < vocabulary.length; i++) vocabulary[i] = next() & 0xff;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  while (at < size) {
    const roll = next();
    if (roll % 100 < 55) {
      const length = Math.min(16 + ((roll >>> 10) % 112), size - at);
      const from = next() % (vocabulary.length - length);
      at += vocabulary.copy(out, at, from, from + length);
    } else {
      const length = 4 + ((roll >>> 10) % 28);
      for (let i = 0; i < length && at < size; i++) out[at++] = next() & 0xff;
    }
  }
  return out;
}

/** Writes one layer's files under `dir/opt/miner/<name>`, sizes spread 0.25-1.75× the mean. */
export function writeMinerLikeLayer(dir: string, plan: MinerLayerPlan, seed: number): void {
  const next = generator(seed);
  const weights = Array.from({ length: plan.files }, () => 0.25 + ((next() % 1000) / 1000) * 1.5);
  const total = weights.reduce((a, b) => a + b, 0);
  const bytes = plan.megabytes * 1024 * 1024;
  for (const [i, weight] of weights.entries()) {
    const sub = join(dir, 'opt', 'miner', plan.name, `d${i % 23}`);
    mkdirSync(sub, { recursive: true });
    const size = Math.max(1, Math.floor((bytes * weight) / total));
    writeFileSync(join(sub, `f${i}`), minerLikeBytes(size, seed * 7919 + i), {
      mode: i % 4 === 0 ? 0o755 : 0o644,
    });
  }
}
