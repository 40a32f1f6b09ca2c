import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MinerhaulError } from '../errors';

/** The device's own ed25519 key: it signs reports so the fleet can tell devices apart without personal data. */
export interface DeviceIdentity {
  /** Stable id derived from the public key: fleet's rule, the first 16 bytes of sha256(raw key), hex. */
  deviceId: string;
  privateKey: KeyObject;
  /** Raw 32-byte public key. */
  publicKeyRaw: Buffer;
}

export function identityFromPrivateKey(privateKey: KeyObject): DeviceIdentity {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new MinerhaulError('E_KEY', `device key must be ed25519, not ${privateKey.asymmetricKeyType}`);
  }
  // The raw public key is the last 32 bytes of its SPKI DER encoding (RFC 8410 §4).
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const publicKeyRaw = Buffer.from(spki.subarray(spki.length - 32));
  return { deviceId: deviceIdFromPublicKey(publicKeyRaw), privateKey, publicKeyRaw };
}

/** The id fleet derives from the device-key header (fleet/src/report-signature.ts; a test keeps them equal). */
export function deviceIdFromPublicKey(publicKeyRaw: Buffer): string {
  return createHash('sha256').update(publicKeyRaw).digest('hex').slice(0, 32);
}

/**
 * Loads the device key, creating it on first start (PKCS#8 PEM, mode 0600, created exclusively so two
 * starting agents cannot each write a different key).
 */
export async function loadOrCreateDeviceIdentity(path: string): Promise<DeviceIdentity> {
  let pem: string | undefined;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new MinerhaulError('E_KEY', `cannot read device key ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  if (pem === undefined) {
    const { privateKey } = generateKeyPairSync('ed25519');
    const text = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    try {
      await writeFile(path, text, { mode: 0o600, flag: 'wx' });
      pem = text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new MinerhaulError('E_KEY', `cannot create device key ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      pem = await readFile(path, 'utf8');
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new MinerhaulError('E_KEY', `device key ${path} is not a PEM private key`, { cause: err });
  }
  return identityFromPrivateKey(key);
}
