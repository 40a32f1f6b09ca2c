// A tiny tar writer for tests: it writes exactly what it is told, hostile entries included.
import { gzipSync } from 'node:zlib';

export interface TarSpec {
  name: string;
  /** typeflag: '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo, or anything else. */
  type?: string;
  data?: Buffer | string;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  /** Declared size when it must differ from the data length. */
  size?: number;
  /** PAX records emitted in an `x` header before this entry. */
  pax?: Record<string, string>;
  /** ustar prefix field. */
  prefix?: string;
  /** Use a GNU `L` record for the name (and `K` for the link name). */
  gnuLong?: boolean;
}

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

export function header(spec: TarSpec & { type: string; size: number; name: string }): Buffer {
  const b = Buffer.alloc(512);
  b.write(spec.name, 0, 100, 'utf8');
  b.write(octal(spec.mode ?? (spec.type === '5' ? 0o755 : 0o644), 8), 100, 'latin1');
  b.write(octal(spec.uid ?? 0, 8), 108, 'latin1');
  b.write(octal(spec.gid ?? 0, 8), 116, 'latin1');
  if (spec.size > 0o77777777777) {
    // base-256 (GNU): top bit set, big-endian value in the remaining bytes
    b[124] = 0x80;
    let v = spec.size;
    for (let i = 135; i > 124; i -= 1) {
      b[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else b.write(octal(spec.size, 12), 124, 'latin1');
  b.write(octal(spec.mtime ?? 1_700_000_000, 12), 136, 'latin1');
  b.write(spec.type, 156, 1, 'latin1');
  b.write(spec.linkName ?? '', 157, 100, 'utf8');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  if (spec.prefix) b.write(spec.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(sum, 7) + ' ', 148, 'latin1');
  return b;
}

function pad(data: Buffer): Buffer {
  const rest = (512 - (data.length % 512)) % 512;
  return Buffer.concat([data, Buffer.alloc(rest)]);
}

export function paxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len)
      len = String(len).length + Buffer.byteLength(body);
    parts.push(Buffer.from(`${len}${body}`));
  }
  return Buffer.concat(parts);
}

export function buildTar(entries: TarSpec[], options: { end?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
    if (e.pax) {
      const body = paxRecords(e.pax);
      blocks.push(header({ name: 'PaxHeader', type: 'x', size: body.length }), pad(body));
    }
    let name = e.name;
    let linkName = e.linkName;
    if (e.gnuLong) {
      const longName = Buffer.from(`${e.name}\0`);
      blocks.push(header({ name: '././@LongLink', type: 'L', size: longName.length }), pad(longName));
      name = e.name.slice(0, 99);
      if (e.linkName) {
        const longLink = Buffer.from(`${e.linkName}\0`);
        blocks.push(header({ name: '././@LongLink', type: 'K', size: longLink.length }), pad(longLink));
        linkName = e.linkName.slice(0, 99);
      }
    }
    blocks.push(header({ ...e, name, linkName, type: e.type ?? '0', size: e.size ?? data.length }));
    if (data.length > 0) blocks.push(pad(data));
  }
  if (options.end ?? true) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function gzipTar(entries: TarSpec[]): Buffer {
  return gzipSync(buildTar(entries));
}

export const TAR = 'application/vnd.oci.image.layer.v1.tar';
export const TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const TAR_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
