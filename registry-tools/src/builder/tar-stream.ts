import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { MinerhaulError } from '@minerhaul/signing';
import { encodeTarHeader, endOfArchive, paddingFor } from './tar-header';
import type { TreeEntry } from './tree-walker';

/** Large reads keep the per-chunk overhead low for big miner binaries. */
const READ_CHUNK = 1024 * 1024;

/**
 * A tar archive of `entries` in the given order, every mtime set to `mtime` (seconds since the
 * epoch). File contents are streamed; a file whose size changed since the walk is an error, because
 * the header already promised its size.
 */
export function tarStream(entries: readonly TreeEntry[], mtime: number): Readable {
  return Readable.from(generateTar(entries, mtime), { objectMode: false });
}

async function* generateTar(entries: readonly TreeEntry[], mtime: number): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield encodeTarHeader({
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      size: entry.type === 'file' ? entry.size : 0,
      mtime,
      linkTarget: entry.linkTarget,
    });
    if (entry.type !== 'file' || entry.source === undefined) continue;
    let written = 0;
    for await (const chunk of createReadStream(entry.source, { highWaterMark: READ_CHUNK })) {
      const buf = chunk as Buffer;
      written += buf.length;
      if (written > entry.size) break;
      yield buf;
    }
    if (written !== entry.size) {
      throw new MinerhaulError('E_CONFIG', `file changed while building: ${entry.source}`);
    }
    const pad = paddingFor(entry.size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield endOfArchive();
}
