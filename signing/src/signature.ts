import { ed25519Sign, ed25519Verify } from './ed25519';
import { MinerhaulError } from './errors';
import type { PublicKey } from './public-key';
import type { SecretKey } from './secret-key';
import { formatSignifyFile, parseSignifyFile, PKALG } from './signify-file';

// Signature struct (protocol-reference §4.4): "Ed" | keynum[8] | ed25519 signature[64].
export const SIGNATURE_BYTES = 74;
/** signify's message limit (readmsg): bigger inputs are refused rather than signed. */
export const MAX_MESSAGE_BYTES = 1 << 30;

export interface Signature {
  keyNumber: Buffer;
  keyNumberHex: string;
  /** Raw 64-byte Ed25519 signature. */
  signature: Buffer;
  comment: string;
  /** The message of an embedded-mode (signify -e) file; empty for a detached signature. */
  embeddedMessage: Buffer;
}

/** Parses a signature file; anything garbled is E_SIGNATURE. */
export function parseSignature(input: string | Buffer): Signature {
  const file = parseSignifyFile(input, SIGNATURE_BYTES, 'signature', 'E_SIGNATURE');
  const keyNumber = Buffer.from(file.data.subarray(2, 10));
  return {
    keyNumber,
    keyNumberHex: keyNumber.toString('hex'),
    signature: Buffer.from(file.data.subarray(10, 74)),
    comment: file.comment,
    embeddedMessage: Buffer.from(file.rest),
  };
}

/**
 * Signs `message`; returns the detached signature file text. The default comment is signify's for
 * a key without a file name: "signature from <secret key comment>".
 */
export function signMessage(secretKey: SecretKey, message: Buffer, comment?: string): string {
  checkMessageSize(message);
  const raw = ed25519Sign(secretKey.seed, message);
  const data = Buffer.concat([PKALG, secretKey.keyNumber, raw]);
  return formatSignifyFile(comment ?? `signature from ${secretKey.comment}`, data);
}

/** Signify -S -e: the signature lines followed by the message itself. */
export function signEmbedded(secretKey: SecretKey, message: Buffer, comment?: string): Buffer {
  return Buffer.concat([Buffer.from(signMessage(secretKey, message, comment), 'utf8'), message]);
}

/**
 * Checks a detached signature. Throws E_SIGNATURE when the file is garbled, made by another key
 * (key number differs: signify's "checked against wrong key", §4.5) or does not verify.
 * Bytes after the base64 line are ignored here, as signify does for detached signatures.
 */
export function verifyMessage(publicKey: PublicKey, message: Buffer, signatureText: string | Buffer): void {
  verifyParsed(publicKey, message, parseSignature(signatureText));
}

/** Checks an embedded-mode signature file and returns the message it carries. */
export function verifyEmbedded(publicKey: PublicKey, signedFile: string | Buffer): Buffer {
  const sig = parseSignature(signedFile);
  verifyParsed(publicKey, sig.embeddedMessage, sig);
  return sig.embeddedMessage;
}

export function verifyParsed(publicKey: PublicKey, message: Buffer, sig: Signature): void {
  if (!sig.keyNumber.equals(publicKey.keyNumber)) {
    throw new MinerhaulError(
      'E_SIGNATURE',
      `verification failed: checked against wrong key (signature by key ${sig.keyNumberHex}, key given is ${publicKey.keyNumberHex})`,
      { details: { signatureKeyNumber: sig.keyNumberHex, publicKeyNumber: publicKey.keyNumberHex } },
    );
  }
  if (message.length > MAX_MESSAGE_BYTES || !ed25519Verify(publicKey.key, message, sig.signature)) {
    throw new MinerhaulError('E_SIGNATURE', `signature verification failed (key ${publicKey.keyNumberHex})`, {
      details: { keyNumber: publicKey.keyNumberHex },
    });
  }
}

function checkMessageSize(message: Buffer): void {
  if (message.length > MAX_MESSAGE_BYTES) {
    throw new MinerhaulError('E_CONFIG', 'message too large to sign (signify limit: 1 GiB)');
  }
}
