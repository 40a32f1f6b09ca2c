import { unsafeArchive } from './unpack-errors';

/** Limits on entry names (protocol-reference §5.5 item 1). */
export const MAX_PATH_BYTES = 4096;
export const MAX_DEPTH = 256;

/**
 * Splits a tar entry name into path components relative to the layer root, per
 * protocol-reference §5.5 item 3: NUL refused; leading `/` and `./` stripped; `.` and empty
 * components dropped; any `..` component refuses the layer (valid layers never need one). A
 * backslash is an ordinary character on Linux and is left alone (CVE-2021-37701 came from
 * treating it as a separator). Returns [] for the root itself.
 */
export function entryComponents(name: string, what = 'entry path'): string[] {
  if (name.includes('\0')) throw unsafeArchive(`${what} contains a NUL byte`);
  if (Buffer.byteLength(name) > MAX_PATH_BYTES)
    throw unsafeArchive(`${what} is too long`, { length: name.length });
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw unsafeArchive(`${what} contains '..'`, { name });
    parts.push(part);
  }
  if (parts.length > MAX_DEPTH) throw unsafeArchive(`${what} is nested too deeply`, { depth: parts.length });
  return parts;
}
