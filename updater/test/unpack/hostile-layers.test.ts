// The hostile-layer corpus: each layer is refused (E_UNSAFE_ARCHIVE) or neutralised, and nothing
// is ever written outside the release directory (a listing of the sentinel parent is compared).
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { isMinerhaulError } from '@minerhaul/signing';
import { unpackLayer } from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTar, header, TAR, TAR_GZIP, TAR_ZSTD, type TarSpec } from './tar-builder';

let tmp: { path: string; cleanup: () => void };
let sentinel: string;
let root: string;

/** Everything under the sentinel directory except the release directory: type, mode, size, content, link. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (p === skip) continue;
    const st = lstatSync(p);
    let what = `${p} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ino${st.ino} n${st.nlink}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p)}`;
    else if (st.isFile()) what += ` ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    out.push(what);
    if (st.isDirectory()) out.push(...snapshot(p, skip));
  }
  return out;
}

beforeEach(() => {
  tmp = makeTmpDir('minerhaul-hostile-');
  sentinel = join(tmp.path, 'sentinel');
  root = join(sentinel, 'work', 'release');
  mkdirSync(root, { recursive: true });
  mkdirSync(join(sentinel, 'etc'));
  writeFileSync(join(sentinel, 'victim.txt'), 'untouched');
  writeFileSync(join(sentinel, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
});
afterEach(() => tmp.cleanup());

type Layer = TarSpec[] | { raw: Buffer; mediaType: string };
interface Case {
  name: string;
  layers: () => Layer[];
  /** 'refused': the last layer fails with E_UNSAFE_ARCHIVE; otherwise a check of the neutralised result. */
  expect: 'refused' | ((root: string, results: Awaited<ReturnType<typeof unpackLayer>>[]) => void);
}

const passwd = 'root:x:0:0:root:/root:/bin/sh\n';
const CASES: Case[] = [
  {
    name: 'absolute paths are re-rooted inside the release',
    layers: () => [
      [
        { name: '/abs-file', data: 'a' },
        { name: '////etc/passwd', data: 'evil' },
      ],
    ],
    expect: (r) => {
      expect(readFileSync(join(r, 'abs-file'), 'utf8')).toBe('a');
      expect(readFileSync(join(r, 'etc/passwd'), 'utf8')).toBe('evil');
    },
  },
  { name: '`..` traversal', layers: () => [[{ name: '../victim.txt', data: 'x' }]], expect: 'refused' },
  {
    name: '`..` in the middle of a path',
    layers: () => [[{ name: 'a/../../../victim.txt', data: 'x' }]],
    expect: 'refused',
  },
  {
    name: 'NUL byte in a PAX path',
    layers: () => [[{ name: 'ok', data: 'x', pax: { path: 'ok\0/../../victim.txt' } }]],
    expect: 'refused',
  },
  {
    name: 'relative symlink escaping, then a write through it (same layer)',
    layers: () => [
      [
        { name: 'esc', type: '2', linkName: '../../..' },
        { name: 'esc/victim.txt', data: 'pwned' },
      ],
    ],
    expect: (r) => {
      expect(readFileSync(join(r, 'victim.txt'), 'utf8')).toBe('pwned');
      expect(readlinkSync(join(r, 'esc'))).toBe('../../..'); // kept verbatim: it only means something inside the sandbox
    },
  },
  {
    name: 'absolute symlink to the host, then a write through it',
    layers: () => [
      [
        { name: 'abs', type: '2', linkName: sentinel },
        { name: 'abs/victim.txt', data: 'pwned' },
      ],
    ],
    expect: (r) => expect(readFileSync(join(r, sentinel, 'victim.txt'), 'utf8')).toBe('pwned'),
  },
  {
    name: 'symlink escaping from an earlier layer, write in a later one',
    layers: () => [
      [{ name: 'esc', type: '2', linkName: '../../../' }],
      [{ name: 'esc/etc/passwd', data: 'pwned' }],
    ],
    expect: (r) => expect(readFileSync(join(r, 'etc/passwd'), 'utf8')).toBe('pwned'),
  },
  {
    name: 'directory replaced by an escaping symlink after its resolution was cached (CVE-2021-32803 shape)',
    layers: () => [
      [{ name: 'd/', type: '5' }],
      [
        { name: 'd/a', data: '1' },
        { name: 'd', type: '2', linkName: '../..' },
        { name: 'd/victim.txt', data: 'pwned' },
      ],
    ],
    expect: (r) => expect(readFileSync(join(r, 'victim.txt'), 'utf8')).toBe('pwned'),
  },
  {
    name: 'directory metadata deferred past a parent turned into an escaping symlink',
    layers: () => [
      [
        { name: 'p/etc/', type: '5', mode: 0o777, mtime: 1 },
        { name: 'p', type: '2', linkName: '../..' },
      ],
    ],
    expect: (r) => expect(lstatSync(join(r, 'p')).isSymbolicLink()).toBe(true),
  },
  {
    name: 'hard link to /etc/passwd (not in the image)',
    layers: () => [[{ name: 'hl', type: '1', linkName: '/etc/passwd' }]],
    expect: 'refused',
  },
  {
    name: 'hard link with `..` to a host file',
    layers: () => [[{ name: 'hl', type: '1', linkName: '../../etc/passwd' }]],
    expect: 'refused',
  },
  {
    name: 'hard link through a chain of escaping symlinks (CVE-2026-26960 shape)',
    layers: () => [
      [
        { name: 'l1', type: '2', linkName: '../../..' },
        { name: 'l2', type: '2', linkName: 'l1/etc' },
        { name: 'hl', type: '1', linkName: 'l2/passwd' },
      ],
    ],
    expect: 'refused',
  },
  {
    name: 'hard link through an escaping symlink made by an earlier layer',
    layers: () => [
      [{ name: 'up', type: '2', linkName: '../../..' }],
      [{ name: 'hl', type: '1', linkName: 'up/etc/passwd' }],
    ],
    expect: 'refused',
  },
  {
    name: 'hard link to /etc/passwd links the image’s own file, never the host’s',
    layers: () => [
      [
        { name: 'etc/passwd', data: 'image' },
        { name: 'hl', type: '1', linkName: '/etc/passwd' },
      ],
    ],
    expect: (r) => {
      expect(statSync(join(r, 'hl')).ino).toBe(statSync(join(r, 'etc/passwd')).ino);
      expect(readFileSync(join(r, 'hl'), 'utf8')).toBe('image');
    },
  },
  {
    name: 'hard link to a symlink pointing at the host links the symlink itself, never its target',
    layers: () => [
      [
        { name: 's', type: '2', linkName: '/etc/passwd' },
        { name: 'h', type: '1', linkName: 's' },
      ],
    ],
    expect: (r) => {
      expect(lstatSync(join(r, 'h')).isSymbolicLink()).toBe(true);
      expect(lstatSync(join(r, 'h')).ino).toBe(lstatSync(join(r, 's')).ino);
    },
  },
  {
    name: 'a later write to a hard-linked name replaces it instead of writing into the shared inode',
    layers: () => [
      [
        { name: 'f', data: 'original' },
        { name: 'h', type: '1', linkName: 'f' },
      ],
      [{ name: 'h', data: 'changed' }],
    ],
    expect: (r) => {
      expect(readFileSync(join(r, 'f'), 'utf8')).toBe('original');
      expect(readFileSync(join(r, 'h'), 'utf8')).toBe('changed');
    },
  },
  {
    name: 'hard link to a directory',
    layers: () => [
      [
        { name: 'dir/', type: '5' },
        { name: 'hl', type: '1', linkName: 'dir' },
      ],
    ],
    expect: 'refused',
  },
  {
    name: 'root made a symlink: `/.` (umoci CVE-2021-29136)',
    layers: () => [[{ name: '/.', type: '2', linkName: '../..' }]],
    expect: 'refused',
  },
  {
    name: 'root made a symlink: `./`',
    layers: () => [[{ name: './', type: '2', linkName: '/' }], [{ name: 'victim.txt', data: 'x' }]],
    expect: 'refused',
  },
  { name: 'root replaced by a file', layers: () => [[{ name: '.', data: 'x' }]], expect: 'refused' },
  {
    name: 'device nodes are skipped',
    layers: () => [
      [
        { name: 'dev/sda', type: '4' },
        { name: 'dev/mem', type: '3' },
      ],
    ],
    expect: (r, results) => {
      expect(existsSync(join(r, 'dev/sda'))).toBe(false);
      expect(existsSync(join(r, 'dev/mem'))).toBe(false);
      expect(results[0]!.skipped.map((s) => s.reason)).toEqual(['device', 'device']);
    },
  },
  {
    name: 'FIFOs are skipped',
    layers: () => [[{ name: 'run/pipe', type: '6' }]],
    expect: (r, results) => {
      expect(existsSync(join(r, 'run/pipe'))).toBe(false);
      expect(results[0]!.skipped).toEqual([{ path: 'run/pipe', reason: 'fifo' }]);
    },
  },
  {
    name: 'setuid/setgid binaries lose the bits',
    layers: () => [[{ name: 'bin/su', data: 'ELF', mode: 0o6755, uid: 0 }]],
    expect: (r) => expect(statSync(join(r, 'bin/su')).mode & 0o7777).toBe(0o755),
  },
  {
    name: 'ownership uid 0 and 1234 is not taken from the archive',
    layers: () => [
      [
        { name: 'root-owned', data: 'x', uid: 0, gid: 0 },
        { name: 'user-owned', data: 'x', uid: 1234, gid: 1234 },
      ],
    ],
    expect: (r) => {
      expect(statSync(join(r, 'root-owned')).uid).toBe(process.getuid!());
      expect(statSync(join(r, 'user-owned')).uid).toBe(process.getuid!());
      expect(statSync(join(r, 'user-owned')).gid).toBe(process.getgid!());
    },
  },
  {
    name: 'huge declared size (1 TiB, base-256) in a tiny layer',
    layers: () => [[{ name: 'huge', data: 'x', size: 2 ** 40 }]],
    expect: 'refused',
  },
  {
    name: 'declared size beyond the data (8 GiB octal)',
    layers: () => [[{ name: 'huge', data: 'x', size: 0o77777777777 }]],
    expect: 'refused',
  },
  {
    name: 'gzip bomb (40 MiB of zeros in ~40 KiB)',
    layers: () => [
      {
        raw: gzipSync(buildTar([{ name: 'bomb', data: Buffer.alloc(40 * 1024 * 1024) }])),
        mediaType: TAR_GZIP,
      },
    ],
    expect: 'refused',
  },
  {
    name: 'zstd bomb (40 MiB of zeros in a few KiB)',
    layers: () => [
      {
        raw: zstdCompress(buildTar([{ name: 'bomb', data: Buffer.alloc(40 * 1024 * 1024) }])),
        mediaType: TAR_ZSTD,
      },
    ],
    expect: 'refused',
  },
  {
    name: 'whiteout escaping its directory (`.wh...`)',
    layers: () => [[{ name: '.wh...' }]],
    expect: 'refused',
  },
  {
    name: 'whiteout escaping from a subdirectory (`a/.wh...`)',
    layers: () => [[{ name: 'a/', type: '5' }, { name: 'a/.wh...' }]],
    expect: 'refused',
  },
  { name: 'empty whiteout name (`.wh.`)', layers: () => [[{ name: 'dir/.wh.' }]], expect: 'refused' },
  {
    name: 'whiteout through an escaping symlink deletes only inside the release',
    layers: () => [
      [{ name: 'esc', type: '2', linkName: '../..' }],
      [{ name: 'esc/.wh.victim.txt' }, { name: 'esc/etc/.wh..wh..opq' }],
    ],
    expect: (r) => expect(existsSync(join(r, 'esc'))).toBe(true),
  },
  {
    name: 'PAX path overriding to `../x`',
    layers: () => [[{ name: 'innocent', data: 'x', pax: { path: '../x' } }]],
    expect: 'refused',
  },
  {
    name: 'PAX linkpath of a hard link to `../../etc/passwd`',
    layers: () => [[{ name: 'hl', type: '1', linkName: 'ok', pax: { linkpath: '../../etc/passwd' } }]],
    expect: 'refused',
  },
  {
    name: 'GNU long name hiding `..`',
    layers: () => [[{ name: `${'a'.repeat(120)}/../../../../victim.txt`, data: 'x', gnuLong: true }]],
    expect: 'refused',
  },
  {
    name: 'name longer than 4096 bytes',
    layers: () => [[{ name: `${'n/'.repeat(2100)}f`, data: 'x', gnuLong: true }]],
    expect: 'refused',
  },
  {
    name: 'long but legal names are extracted',
    layers: () => [[{ name: `${'deep/'.repeat(40)}file`, data: 'ok', gnuLong: true }]],
    expect: (r) => expect(readFileSync(join(r, `${'deep/'.repeat(40)}file`), 'utf8')).toBe('ok'),
  },
  {
    name: 'symlink loop',
    layers: () => [
      [
        { name: 'a', type: '2', linkName: 'b' },
        { name: 'b', type: '2', linkName: 'a' },
        { name: 'a/x', data: 'x' },
      ],
    ],
    expect: 'refused',
  },
  {
    name: 'a file used as a directory',
    layers: () => [
      [
        { name: 'f', data: 'x' },
        { name: 'f/x', data: 'x' },
      ],
    ],
    expect: 'refused',
  },
  {
    name: 'sparse entry (GNU `S`)',
    layers: () => [[{ name: 'sparse', type: 'S', data: 'x' }]],
    expect: 'refused',
  },
  { name: 'volume header (`V`)', layers: () => [[{ name: 'vol', type: 'V' }]], expect: 'refused' },
  {
    name: 'bad header checksum',
    layers: () => {
      const h = header({ name: 'f', type: '0', size: 0 });
      h[0] = 0x41; // corrupt after the checksum was computed
      return [{ raw: Buffer.concat([h, Buffer.alloc(1024)]), mediaType: TAR }];
    },
    expect: 'refused',
  },
  {
    name: 'oversized PAX header',
    layers: () => [[{ name: 'f', data: 'x', pax: { comment: 'c'.repeat(2 * 1024 * 1024) } }]],
    expect: 'refused',
  },
  {
    name: 'symlink with a NUL in its target (PAX)',
    layers: () => [[{ name: 'l', type: '2', linkName: 'x', pax: { linkpath: 'a\0b' } }]],
    expect: 'refused',
  },
];

describe('hostile layers', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const skip = join(sentinel, 'work');
    const before = snapshot(sentinel, skip);
    const results: Awaited<ReturnType<typeof unpackLayer>>[] = [];
    let error: unknown;
    try {
      for (const l of c.layers()) {
        const raw = Array.isArray(l) ? buildTar(l) : l.raw;
        const mediaType = Array.isArray(l) ? TAR : l.mediaType;
        results.push(await unpackLayer(Readable.from([raw]), { mediaType, destDir: root }));
      }
    } catch (err) {
      error = err;
    }
    if (c.expect === 'refused') {
      expect(isMinerhaulError(error, 'E_UNSAFE_ARCHIVE') ? 'E_UNSAFE_ARCHIVE' : error).toBe(
        'E_UNSAFE_ARCHIVE',
      );
    } else {
      expect(error).toBeUndefined();
      c.expect(root, results);
    }
    // Nothing outside the release directory changed, and nothing appeared next to it.
    expect(snapshot(sentinel, skip)).toEqual(before);
    expect(readdirSync(skip)).toEqual(['release']);
    expect(readFileSync(join(sentinel, 'victim.txt'), 'utf8')).toBe('untouched');
    expect(readFileSync(join(sentinel, 'etc', 'passwd'), 'utf8')).toBe(passwd);
  });
});
