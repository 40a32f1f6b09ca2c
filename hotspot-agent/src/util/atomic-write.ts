import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

// Writes to one path run one after another, in call order: two overlapping writes of the same file
// (a heartbeat and a cycle's end) must not race, or the older content could land last.
const pendingWrites = new Map<string, Promise<void>>();

/** Writes a file so a power cut leaves the old or the new content, never a torn one (temp, fsync, rename). */
export function atomicWriteFile(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const previous = pendingWrites.get(path) ?? Promise.resolve();
  const write = previous.catch(() => undefined).then(() => writeNow(path, data, mode));
  pendingWrites.set(path, write);
  const forget = (): void => {
    if (pendingWrites.get(path) === write) pendingWrites.delete(path);
  };
  write.then(forget, forget);
  return write;
}

async function writeNow(path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
