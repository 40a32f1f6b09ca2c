import { MinerhaulError } from './errors';

// bcrypt_pbkdf from npm `bcrypt-pbkdf` (docs/decisions/0101-bcrypt-pbkdf.md); it ships no types.
interface BcryptPbkdfModule {
  pbkdf(
    pass: Uint8Array,
    passlen: number,
    salt: Uint8Array,
    saltlen: number,
    key: Uint8Array,
    keylen: number,
    rounds: number,
  ): number;
}
// Loaded on first use: it pulls in tweetnacl (~4 MiB resident), which a verifying agent never needs.
let bcryptPbkdfModule: BcryptPbkdfModule | undefined;

/**
 * OpenBSD bcrypt_pbkdf(3). Rounds must be >= 1 (signify special-cases 0 itself, §4.3); the
 * passphrase and salt must not be empty.
 */
export function bcryptPbkdf(passphrase: Buffer, salt: Buffer, rounds: number, keyLength: number): Buffer {
  const key = Buffer.alloc(keyLength);
  bcryptPbkdfModule ??= require('bcrypt-pbkdf') as BcryptPbkdfModule;
  const rc = bcryptPbkdfModule.pbkdf(
    passphrase,
    passphrase.length,
    salt,
    salt.length,
    key,
    keyLength,
    rounds,
  );
  if (rc !== 0)
    throw new MinerhaulError('E_KEY', 'bcrypt_pbkdf failed (bad rounds, empty passphrase or salt)');
  return key;
}
