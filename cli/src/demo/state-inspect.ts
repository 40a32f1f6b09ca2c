import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Whether any file below `dir` is named after `digest`'s hex (the blob store keeps `blobs/sha256/<hex>`,
 * partial downloads `incoming/<hex>`; docs/decisions/0304). Bounded: at most `maxEntries` entries
 * looked at, so a huge tree cannot stall the demo.
 */
export function holdsBlob(dir: string, digest: string, maxEntries = 100_000): boolean {
  const hex = digest.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  const stack = [dir];
  let seen = 0;
  while (stack.length > 0 && seen < maxEntries) {
    const current = stack.pop() as string;
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      seen += 1;
      if (e.name === hex || e.name.startsWith(`${hex}.`)) return true;
      if (e.isDirectory()) stack.push(join(current, e.name));
    }
  }
  return false;
}
