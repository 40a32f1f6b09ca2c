import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { bcryptPbkdf } from './bcrypt-pbkdf';
import { publicFromSeed } from './ed25519';
import { MinerhaulError } from './errors';
import { formatSignifyFile, parseSignifyFile, PKALG } from './signify-file';

// Secret key struct (protocol-reference §4.3):
// "Ed" | "BK" | rounds u32 BE | salt[16] | checksum[8] | keynum[8] | (seed[32] ‖ pub[32]) XOR keystream
export const SECRET_KEY_BYTES = 104;
const KDFALG = Buffer.from('BK', 'latin1');
/** signify's rounds when a passphrase is set. */
export const DEFAULT_KDF_ROUNDS = 42;
/**
 * Refuse absurd round counts: a crafted key must not keep us busy for hours (about 20 ms per round
 * here). signify itself only ever writes 0 or 42.
 */
export const MAX_KDF_ROUNDS = 256;

export interface SecretKey {
  keyNumber: Buffer;
  keyNumberHex: string;
  /** The 32-byte Ed25519 seed (first half of signify's 64-byte secret). */
  seed: Buffer;
  /** The 32-byte Ed25519 public key (second half). */
  publicKey: Buffer;
  comment: string;
}

interface SecretKeyStruct {
  rounds: number;
  salt: Buffer;
  checksum: Buffer;
  keyNumber: Buffer;
  encrypted: Buffer;
  comment: string;
}

function parseStruct(text: string | Buffer): SecretKeyStruct {
  const file = parseSignifyFile(text, SECRET_KEY_BYTES, 'secret key', 'E_KEY');
  const d = file.data;
  if (!d.subarray(2, 4).equals(KDFALG)) throw new MinerhaulError('E_KEY', 'secret key: unsupported KDF');
  return {
    rounds: d.readUInt32BE(4),
    salt: d.subarray(8, 24),
    checksum: d.subarray(24, 32),
    keyNumber: Buffer.from(d.subarray(32, 40)),
    encrypted: d.subarray(40, 104),
    comment: file.comment,
  };
}

/** True when the key file is encrypted (kdfrounds > 0), i.e. a passphrase must be asked for. */
export function secretKeyNeedsPassphrase(text: string | Buffer): boolean {
  return parseStruct(text).rounds > 0;
}

/**
 * Decrypts a signify secret key. A passphrase given for an unencrypted key is ignored (as signify
 * does). Wrong passphrase, garbled file or unsupported parameters: E_KEY.
 */
export function decryptSecretKey(text: string | Buffer, passphrase?: string): SecretKey {
  const s = parseStruct(text);
  let keystream: Buffer;
  if (s.rounds === 0) {
    keystream = Buffer.alloc(64);
  } else {
    if (s.rounds > MAX_KDF_ROUNDS) {
      throw new MinerhaulError(
        'E_KEY',
        `secret key: ${s.rounds} KDF rounds is more than the ${MAX_KDF_ROUNDS} allowed`,
      );
    }
    if (passphrase === undefined || passphrase.length === 0) {
      throw new MinerhaulError('E_KEY', 'secret key is encrypted: a passphrase is needed');
    }
    keystream = bcryptPbkdf(Buffer.from(passphrase, 'utf8'), s.salt, s.rounds, 64);
  }
  const secret = xor(s.encrypted, keystream);
  // signify: checksum mismatch = "incorrect passphrase" (the only integrity check of the file).
  if (!timingSafeEqual(checksumOf(secret), s.checksum)) {
    throw new MinerhaulError(
      'E_KEY',
      s.rounds === 0 ? 'secret key: checksum mismatch (corrupt file)' : 'incorrect passphrase',
    );
  }
  const seed = secret.subarray(0, 32);
  const publicKey = secret.subarray(32, 64);
  // Not checked by signify; cheap, and catches a file whose halves were tampered with consistently.
  if (!publicFromSeed(seed).equals(publicKey)) {
    throw new MinerhaulError('E_KEY', 'secret key: public half does not match the seed');
  }
  return {
    keyNumber: s.keyNumber,
    keyNumberHex: s.keyNumber.toString('hex'),
    seed,
    publicKey,
    comment: s.comment,
  };
}

/**
 * The secret key file text. `passphrase` undefined writes rounds = 0 (signify -n): the key is
 * stored in clear; salt is random either way, as signify does.
 */
export function encryptSecretKey(
  key: Pick<SecretKey, 'keyNumber' | 'seed' | 'publicKey'>,
  comment: string,
  passphrase?: string,
): string {
  if (passphrase !== undefined && passphrase.length === 0) {
    throw new MinerhaulError(
      'E_CONFIG',
      'empty passphrase refused (use --no-passphrase for an unencrypted key)',
    );
  }
  const rounds = passphrase === undefined ? 0 : DEFAULT_KDF_ROUNDS;
  const salt = randomBytes(16);
  const secret = Buffer.concat([key.seed, key.publicKey]);
  const keystream =
    passphrase === undefined
      ? Buffer.alloc(64)
      : bcryptPbkdf(Buffer.from(passphrase, 'utf8'), salt, rounds, 64);
  const roundsBytes = Buffer.alloc(4);
  roundsBytes.writeUInt32BE(rounds);
  const data = Buffer.concat([
    PKALG,
    KDFALG,
    roundsBytes,
    salt,
    checksumOf(secret),
    key.keyNumber,
    xor(secret, keystream),
  ]);
  return formatSignifyFile(comment, data);
}

function checksumOf(secret: Buffer): Buffer {
  return createHash('sha512').update(secret).digest().subarray(0, 8);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}
