import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { MinerhaulError, type ErrorCode } from './errors';
import { MAX_KEY_FILE_BYTES } from './signify-file';
import { MAX_MESSAGE_BYTES } from './signature';

// File helpers for the key and signature commands; the parsers stay pure and take bytes.

/**
 * Writes a new key pair like signify -G: both files created exclusively (never overwritten), the
 * secret one with mode 0600. If the public file cannot be created, the new secret file is removed.
 */
export function writeKeyPairFiles(
  paths: { publicKey: string; secretKey: string },
  pair: { publicKey: string; secretKey: string },
): void {
  if (paths.publicKey === paths.secretKey) {
    throw new MinerhaulError('E_CONFIG', 'public and secret key paths must differ');
  }
  createExclusive(paths.secretKey, pair.secretKey, 0o600);
  try {
    createExclusive(paths.publicKey, pair.publicKey, 0o666);
  } catch (err) {
    unlinkSync(paths.secretKey);
    throw err;
  }
}

function createExclusive(path: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST'
        ? 'already exists; refusing to overwrite a key'
        : `cannot create (${code ?? 'error'})`;
    throw new MinerhaulError('E_CONFIG', `${path}: ${why}`, { cause: err });
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Reads a key file (at most signify's 2048 bytes); unreadable: E_KEY. */
export function readKeyFile(path: string): Buffer {
  return readBounded(path, MAX_KEY_FILE_BYTES, 'E_KEY', 'key file');
}

/** Reads a signature file; missing or unreadable: E_SIGNATURE. Embedded-mode files may carry a message. */
export function readSignatureFile(path: string): Buffer {
  return readBounded(path, MAX_MESSAGE_BYTES + MAX_KEY_FILE_BYTES, 'E_SIGNATURE', 'signature file');
}

/**
 * Reads a message to sign or verify. Pure Ed25519 needs the whole message twice (RFC 8032 §5.1.6),
 * so it cannot be streamed; signify has the same 1 GiB limit (readmsg).
 */
export function readMessageFile(path: string): Buffer {
  return readBounded(path, MAX_MESSAGE_BYTES, 'E_CONFIG', 'message file');
}

function readBounded(path: string, limit: number, code: ErrorCode, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new MinerhaulError(code, `${what} ${path}: cannot open (${errno})`, { cause: err });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new MinerhaulError(code, `${what} ${path}: not a regular file`);
    if (stat.size > limit) throw new MinerhaulError(code, `${what} ${path}: larger than ${limit} bytes`);
    const buf = Buffer.alloc(stat.size);
    let off = 0;
    // Bounded by the size read above: a file that grows meanwhile is read only up to it.
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
