import { existsSync } from 'node:fs';
import { MinerhaulError } from './errors';
import { readKeyFile } from './key-files';
import { decodeStruct, formatSignifyFile, parseSignifyFile, PKALG } from './signify-file';

// Public key struct (protocol-reference §4.2): "Ed" | keynum[8] | ed25519 public key[32].
export const PUBLIC_KEY_BYTES = 42;

export interface PublicKey {
  /** 8-byte key number: an identifier for picking a key, not a security property (§4.5). */
  keyNumber: Buffer;
  keyNumberHex: string;
  /** Raw 32-byte Ed25519 public key. */
  key: Buffer;
  /** The untrusted comment ('' when parsed from a bare base64 line). */
  comment: string;
}

/** Parses a signify public key file, or the bare base64 line of one (DESIGN.md trust.keys). */
export function parsePublicKey(input: string | Buffer): PublicKey {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (!text.startsWith('untrusted comment:') && !text.includes('\n')) {
    const data = decodeStruct(text.trim(), PUBLIC_KEY_BYTES, 'public key', 'E_KEY');
    return fromStruct(data, '');
  }
  const file = parseSignifyFile(input, PUBLIC_KEY_BYTES, 'public key', 'E_KEY');
  if (file.rest.toString('latin1').trim().length > 0) {
    throw new MinerhaulError('E_KEY', 'public key: unexpected data after the base64 line');
  }
  return fromStruct(file.data, file.comment);
}

/** Whether `value` is a bare signify public key line: 56 base64 characters starting "RW" ("Ed"). */
export function isPublicKeyLine(value: string): boolean {
  return /^RW[A-Za-z0-9+/]{54}$/.test(value.trim());
}

/** A public key from a file path, or from its base64 line when no such file exists. */
export function loadPublicKey(pathOrBase64Line: string): PublicKey {
  if (!existsSync(pathOrBase64Line)) {
    if (isPublicKeyLine(pathOrBase64Line)) return parsePublicKey(pathOrBase64Line);
    throw new MinerhaulError(
      'E_KEY',
      `public key ${pathOrBase64Line}: no such file, and not a base64 key line`,
    );
  }
  const bytes = readKeyFile(pathOrBase64Line);
  try {
    return parsePublicKey(bytes);
  } catch (err) {
    if (err instanceof MinerhaulError) {
      throw new MinerhaulError(err.code, `${pathOrBase64Line}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** The public key file text, as signify -G writes it. */
export function formatPublicKey(key: Pick<PublicKey, 'keyNumber' | 'key'>, comment: string): string {
  return formatSignifyFile(comment, Buffer.concat([PKALG, key.keyNumber, key.key]));
}

/** The base64 line alone (what trust.keys may hold). */
export function publicKeyLine(key: Pick<PublicKey, 'keyNumber' | 'key'>): string {
  return Buffer.concat([PKALG, key.keyNumber, key.key]).toString('base64');
}

function fromStruct(data: Buffer, comment: string): PublicKey {
  const keyNumber = Buffer.from(data.subarray(2, 10));
  return {
    keyNumber,
    keyNumberHex: keyNumber.toString('hex'),
    key: Buffer.from(data.subarray(10, 42)),
    comment,
  };
}
