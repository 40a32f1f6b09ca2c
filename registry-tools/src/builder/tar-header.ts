import { MinerhaulError } from '@minerhaul/signing';

/** Tar record size (POSIX.1-1988 ustar): headers and data are padded to it. */
export const BLOCK_SIZE = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink';

/** What one header describes; everything that would carry host metadata is fixed by the caller. */
export interface TarHeaderFields {
  /** Path inside the archive, without a leading `/`; directories end with `/`. */
  path: string;
  type: TarEntryType;
  mode: number;
  size: number;
  mtime: number;
  linkTarget?: string;
}

const TYPE_FLAG: Record<TarEntryType, string> = { file: '0', directory: '5', symlink: '2' };
const PAX_TYPE_FLAG = 'x';
/** A fixed name for PAX extended headers: no process id or host data (GNU tar puts its pid there). */
const PAX_HEADER_NAME = 'PaxHeaders/entry';
/** Largest value an 11-digit octal size field holds (8 GiB - 1); larger sizes go to a PAX record. */
const MAX_OCTAL_SIZE = 0o77777777777;

/**
 * Encodes one entry's header(s): a plain ustar header when the path fits the name/prefix fields,
 * else a PAX extended header (POSIX.1-2001 pax `path`, `linkpath`, `size`) followed by the ustar header.
 */
export function encodeTarHeader(fields: TarHeaderFields): Buffer {
  const pax: [string, string][] = [];
  const split = splitUstarPath(fields.path);
  if (split === undefined) pax.push(['path', fields.path]);
  const link = fields.linkTarget ?? '';
  if (Buffer.byteLength(link) > 100) pax.push(['linkpath', link]);
  if (fields.size > MAX_OCTAL_SIZE) pax.push(['size', String(fields.size)]);

  const main = ustarBlock({
    name: split?.name ?? truncateBytes(fields.path, 100),
    prefix: split?.prefix ?? '',
    mode: fields.mode,
    size: fields.size > MAX_OCTAL_SIZE ? 0 : fields.size,
    mtime: fields.mtime,
    typeFlag: TYPE_FLAG[fields.type],
    linkName: Buffer.byteLength(link) > 100 ? truncateBytes(link, 100) : link,
  });
  if (pax.length === 0) return main;

  const body = Buffer.from(pax.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
  const paxHeader = ustarBlock({
    name: PAX_HEADER_NAME,
    prefix: '',
    mode: 0o644,
    size: body.length,
    mtime: fields.mtime,
    typeFlag: PAX_TYPE_FLAG,
    linkName: '',
  });
  return Buffer.concat([paxHeader, body, Buffer.alloc(paddingFor(body.length)), main]);
}

/** Zero bytes needed after `size` bytes of data to reach the next block boundary. */
export function paddingFor(size: number): number {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? 0 : BLOCK_SIZE - rest;
}

/** The end-of-archive marker: two zero blocks (POSIX.1 ustar). */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK_SIZE);
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  size: number;
  mtime: number;
  typeFlag: string;
  linkName: string;
}

function ustarBlock(f: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  block.write(f.name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, f.mode);
  writeOctal(block, 108, 8, 0); // uid 0: no host user ids
  writeOctal(block, 116, 8, 0); // gid 0
  writeOctal(block, 124, 12, f.size);
  writeOctal(block, 136, 12, f.mtime);
  block.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  block.write(f.typeFlag, 156, 1, 'ascii');
  block.write(f.linkName, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  // uname/gname stay empty: readers then use the numeric ids (image-spec layer.md prefers them).
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  block.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'ascii');
  return block;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MinerhaulError('E_CONFIG', `tar field value out of range: ${value}`);
  }
  const digits = value.toString(8);
  if (digits.length > width - 1) {
    throw new MinerhaulError('E_CONFIG', `tar field value too large: ${value}`);
  }
  block.write(digits.padStart(width - 1, '0') + '\u0000', offset, width, 'ascii');
}

/** ustar stores paths up to 255 bytes as prefix (155) + '/' + name (100), split at a slash. */
function splitUstarPath(path: string): { name: string; prefix: string } | undefined {
  if (!isAscii(path)) return undefined; // non-ASCII goes to PAX (UTF-8 by definition there)
  if (path.length <= 100) return { name: path, prefix: '' };
  // A directory's trailing slash belongs to the name part.
  const body = path.endsWith('/') ? path.slice(0, -1) : path;
  for (let i = body.lastIndexOf('/'); i > 0; i = body.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { name, prefix };
    if (prefix.length <= 155) return undefined; // names only get longer to the left
  }
  return undefined;
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

function truncateBytes(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= max) return s;
  // Cut at a character boundary so the field stays valid UTF-8.
  let end = max;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** One PAX record: "<len> <key>=<value>\n" where <len> counts the whole record including itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restLen = Buffer.byteLength(rest);
  let len = restLen + String(restLen).length;
  if (String(len).length + restLen !== len) len = String(len + 1).length + restLen;
  return `${len}${rest}`;
}
