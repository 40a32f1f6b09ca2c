import { statfs } from 'node:fs/promises';
import { MinerhaulError } from '@minerhaul/signing';

/** Bytes available to this (unprivileged) user on the file system holding `path`. */
export type SpaceProbe = (path: string) => Promise<number>;

export const statfsProbe: SpaceProbe = async (path) => {
  const s = await statfs(path);
  return s.bavail * s.bsize;
};

/** Refuses with E_NO_SPACE unless `needed` bytes are free at `path`. */
export async function ensureFreeSpace(
  path: string,
  needed: number,
  what: string,
  probe: SpaceProbe = statfsProbe,
): Promise<void> {
  const available = await probe(path);
  if (available < needed) {
    throw new MinerhaulError(
      'E_NO_SPACE',
      `not enough disk for ${what}: need ${needed} bytes, ${available} free`,
      {
        details: { path, needed, available },
      },
    );
  }
}

/**
 * A free-space guard for writes whose final size is unknown (an unpack: only the compressed
 * size is declared): every `interval` bytes written, at least `reserve` bytes must remain free.
 */
export function spaceGuard(
  path: string,
  reserve: number,
  probe: SpaceProbe = statfsProbe,
  interval = 64 * 1024 * 1024,
): (bytes: number) => Promise<void> {
  let sinceCheck = 0;
  return async (bytes) => {
    sinceCheck += bytes;
    if (sinceCheck < interval) return;
    sinceCheck = 0;
    await ensureFreeSpace(path, reserve, 'unpacking (reserve)', probe);
  };
}
