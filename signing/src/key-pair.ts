import { randomBytes } from 'node:crypto';
import { generateSeed } from './ed25519';
import { formatPublicKey } from './public-key';
import { encryptSecretKey } from './secret-key';
import { checkComment } from './signify-file';

export interface GenerateKeyPairOptions {
  /** Base comment; the files get "<comment> public key" / "<comment> secret key" like signify -G. */
  comment?: string;
  /** undefined = no passphrase (signify -n, rounds 0). */
  passphrase?: string;
}

export interface GeneratedKeyPair {
  publicKey: string;
  secretKey: string;
  keyNumberHex: string;
}

export const DEFAULT_KEY_COMMENT = 'minerhaul';

/** A new signify key pair as file texts. */
export function generateKeyPair(opts: GenerateKeyPairOptions = {}): GeneratedKeyPair {
  const comment = opts.comment ?? DEFAULT_KEY_COMMENT;
  checkComment(`${comment} public key`);
  checkComment(`${comment} secret key`);
  const keyNumber = randomBytes(8);
  const { seed, publicKey } = generateSeed();
  return {
    publicKey: formatPublicKey({ keyNumber, key: publicKey }, `${comment} public key`),
    secretKey: encryptSecretKey({ keyNumber, seed, publicKey }, `${comment} secret key`, opts.passphrase),
    keyNumberHex: keyNumber.toString('hex'),
  };
}
