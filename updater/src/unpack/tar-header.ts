import { unsafeArchive } from './unpack-errors';

/** Size of a tar block; headers and data padding are aligned to it (POSIX ustar). */
export const BLOCK = 512;

/** What an entry is once tar's typeflags are folded together; anything else is refused. */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** Header records that describe the next entry rather than being entries themselves. */
export type MetaKind = 'pax' | 'pax-global' | 'gnu-long-name' | 'gnu-long-link';

export interface RawHeader {
  kind: EntryKind | MetaKind;
  name: string;
  linkName: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
}

/** Overrides a PAX extended header (POSIX pax, `x`) applies to the entry that follows it. */
export interface PaxOverrides {
  path?: string;
  linkPath?: string;
  size?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
  /** Names of SCHILY.xattr.* records: counted and dropped (docs/decisions/0302). */
  xattrs: string[];
}

const TYPEFLAGS: Record<string, EntryKind | MetaKind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but on a few historic systems
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  x: 'pax',
  g: 'pax-global',
  L: 'gnu-long-name',
  K: 'gnu-long-link',
};

/** True for the all-zero block that marks the end of an archive. */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 1) if (block[i] !== 0) return false;
  return true;
}

function readString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  const stop = end === -1 || end > start + length ? start + length : end;
  return block.toString('utf8', start, stop);
}

/**
 * Numeric fields are octal text, or big-endian base-256 when the top bit of the first byte is set
 * (GNU/star extension for values that do not fit). Negative base-256 values are refused.
 */
export function readNumber(block: Buffer, start: number, length: number, field: string): number {
  const first = block[start] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw unsafeArchive(`negative base-256 ${field} in tar header`);
    let value = first & 0x7f;
    for (let i = start + 1; i < start + length; i += 1) {
      value = value * 256 + (block[i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) throw unsafeArchive(`tar header ${field} too large`);
    }
    return value;
  }
  const text = block
    .toString('latin1', start, start + length)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw unsafeArchive(`invalid octal ${field} in tar header`, { value: text });
  const value = parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw unsafeArchive(`tar header ${field} too large`);
  return value;
}

/** Header checksum: the byte sum with the checksum field counted as spaces; signed sums are accepted too. */
function checksumMatches(block: Buffer): boolean {
  const stored = readNumber(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i += 1) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** Parses one 512-byte header block (ustar, GNU and v7 forms). */
export function parseHeader(block: Buffer): RawHeader {
  if (!checksumMatches(block)) throw unsafeArchive('tar header checksum mismatch (not a tar stream?)');
  const typeflag = String.fromCharCode(block[156] ?? 0);
  const kind = TYPEFLAGS[typeflag];
  if (kind === undefined) {
    // Sparse (S), multi-volume (M), volume labels (V) and vendor types would be mis-extracted.
    throw unsafeArchive(`unsupported tar entry type '${typeflag}'`, { typeflag });
  }
  let name = readString(block, 0, 100);
  // POSIX ustar ("ustar\0") splits long names into prefix + name; old GNU ("ustar  ") uses the
  // prefix bytes for atime/ctime instead, so they are only read under the POSIX magic.
  if (block.toString('latin1', 257, 263) === 'ustar\0') {
    const prefix = readString(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return {
    kind,
    name,
    linkName: readString(block, 157, 100),
    mode: readNumber(block, 100, 8, 'mode'),
    uid: readNumber(block, 108, 8, 'uid'),
    gid: readNumber(block, 116, 8, 'gid'),
    size: readNumber(block, 124, 12, 'size'),
    mtime: readNumber(block, 136, 12, 'mtime'),
  };
}

function paxNumber(value: string, key: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw unsafeArchive(`invalid PAX ${key} value`, { value });
  const n = Number(value);
  if (!Number.isFinite(n) || n > Number.MAX_SAFE_INTEGER) throw unsafeArchive(`PAX ${key} too large`);
  return n;
}

/**
 * Parses PAX records (`"%d %s=%s\n"`, the length counting the whole record; POSIX pax
 * "extended header"). Unknown keys are ignored; GNU sparse keys are refused.
 */
export function parsePax(data: Buffer): PaxOverrides {
  const out: PaxOverrides = { xattrs: [] };
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // NUL padding after the last record
    const space = data.indexOf(0x20, pos);
    if (space === -1 || space - pos > 20) throw unsafeArchive('malformed PAX record');
    const length = Number(data.toString('latin1', pos, space));
    if (!Number.isSafeInteger(length) || length <= space - pos + 1 || pos + length > data.length) {
      throw unsafeArchive('malformed PAX record length');
    }
    const end = pos + length;
    if (data[end - 1] !== 0x0a) throw unsafeArchive('PAX record not newline-terminated');
    const record = data.toString('utf8', space + 1, end - 1);
    pos = end;
    const eq = record.indexOf('=');
    if (eq <= 0) throw unsafeArchive('malformed PAX record');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkPath = value;
    else if (key === 'size') out.size = paxNumber(value, key);
    else if (key === 'mtime') out.mtime = Math.floor(paxNumber(value, key));
    else if (key === 'uid') out.uid = paxNumber(value, key);
    else if (key === 'gid') out.gid = paxNumber(value, key);
    else if (key.startsWith('SCHILY.xattr.')) out.xattrs.push(key.slice('SCHILY.xattr.'.length));
    else if (key.startsWith('GNU.sparse.')) throw unsafeArchive('sparse tar entries are not supported');
  }
  return out;
}
