import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MinerhaulError } from '@minerhaul/signing';
import type { TarEntryType } from './tar-header';

/** One entry of a layer, with host metadata already normalised away (docs/decisions/0251). */
export interface TreeEntry {
  /** Path inside the image, relative to `/`, directories ending with `/`. */
  path: string;
  type: TarEntryType;
  mode: number;
  size: number;
  /** Host file to read content from (regular files only). */
  source?: string;
  linkTarget?: string;
}

/** Bound on entries per layer: a miner is a few thousand files; this catches a wrong directory. */
const MAX_ENTRIES = 200_000;

/**
 * Lists `root` as it will appear under `prefix` in the image: the prefix's parent directories first,
 * then a pre-order walk with children sorted by the bytes of their names (locale-independent).
 * Modes keep only "executable or not"; owners, times, xattrs and link counts are dropped.
 */
export async function walkTree(root: string, prefix: string): Promise<TreeEntry[]> {
  const top = await statOrFail(root);
  if (!top.isDirectory()) throw new MinerhaulError('E_CONFIG', `not a directory: ${root}`);
  const entries: TreeEntry[] = [];
  const parts = normalisePrefix(prefix)
    .split('/')
    .filter((p) => p.length > 0);
  for (let i = 1; i <= parts.length; i++) {
    entries.push({ path: parts.slice(0, i).join('/') + '/', type: 'directory', mode: 0o755, size: 0 });
  }
  const base = parts.join('/');
  await walkDir(root, base, entries);
  return entries;
}

/** `/opt/miner/` → `opt/miner`; refuses `..` and empty segments so nothing lands outside the prefix. */
export function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  const parts = trimmed.split('/');
  if (trimmed.length === 0 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new MinerhaulError(
      'E_CONFIG',
      `invalid --prefix '${prefix}': use an absolute path like /opt/miner`,
    );
  }
  return trimmed;
}

async function walkDir(hostDir: string, imageDir: string, out: TreeEntry[]): Promise<void> {
  const names = (await readdir(hostDir)).sort(compareBytes);
  for (const name of names) {
    if (out.length >= MAX_ENTRIES) {
      throw new MinerhaulError('E_CONFIG', `more than ${MAX_ENTRIES} entries under ${hostDir}`);
    }
    const hostPath = join(hostDir, name);
    const imagePath = imageDir.length > 0 ? `${imageDir}/${name}` : name;
    const st = await statOrFail(hostPath);
    if (st.isDirectory()) {
      out.push({ path: imagePath + '/', type: 'directory', mode: 0o755, size: 0 });
      await walkDir(hostPath, imagePath, out);
    } else if (st.isFile()) {
      // Hard links become independent copies: the link count is host metadata.
      const mode = (st.mode & 0o111) !== 0 ? 0o755 : 0o644;
      out.push({ path: imagePath, type: 'file', mode, size: st.size, source: hostPath });
    } else if (st.isSymbolicLink()) {
      const linkTarget = await readlink(hostPath);
      out.push({ path: imagePath, type: 'symlink', mode: 0o777, size: 0, linkTarget });
    } else {
      throw new MinerhaulError('E_CONFIG', `unsupported file type (device, fifo or socket): ${hostPath}`);
    }
  }
}

async function statOrFail(path: string): Promise<Stats> {
  try {
    return await lstat(path);
  } catch (err) {
    throw new MinerhaulError('E_CONFIG', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
