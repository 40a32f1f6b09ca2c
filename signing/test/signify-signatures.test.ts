import {
  decryptSecretKey,
  generateKeyPair,
  parsePublicKey,
  parseSignature,
  signEmbedded,
  signMessage,
  verifyEmbedded,
  verifyMessage,
} from '@minerhaul/signing';
import { codeOf, HORSE, REGRESS, sigFile } from './vectors';

const regressPub = parsePublicKey(REGRESS.publicKey);
const regressSec = decryptSecretKey(REGRESS.secretKey);

function flipBit(b64: string, byte: number): string {
  const data = Buffer.from(b64, 'base64');
  data[byte] = (data[byte] ?? 0) ^ 0x01;
  return data.toString('base64');
}

describe('signMessage', () => {
  describe('when signing the regress message with the regress key', () => {
    it('returns byte for byte the signature signify made (Ed25519 is deterministic)', () => {
      const text = signMessage(regressSec, REGRESS.message, 'verify with regresskey.pub');
      expect(text).toBe(sigFile(REGRESS.signatureB64, 'verify with regresskey.pub'));
    });
  });

  describe('when signing "hello\\n" with the decrypted "correct horse" key', () => {
    it('returns the signature signify-openbsd made', () => {
      const key = decryptSecretKey(HORSE.secretKey, HORSE.passphrase);
      expect(signMessage(key, HORSE.message).split('\n')[1]).toBe(HORSE.signatureB64);
    });
  });

  describe('when no comment is given', () => {
    it('uses signify\'s "signature from <secret key comment>"', () => {
      expect(parseSignature(signMessage(regressSec, Buffer.from('x'))).comment).toBe(
        'signature from signify secret key',
      );
    });
  });

  describe('when the comment cannot be framed', () => {
    it('refuses with E_CONFIG', () => {
      expect(codeOf(() => signMessage(regressSec, Buffer.from('x'), 'a\nb'))).toBe('E_CONFIG');
    });
  });
});

describe('verifyMessage', () => {
  describe('when the regress signature is checked', () => {
    it('returns for the original message', () => {
      expect(() => verifyMessage(regressPub, REGRESS.message, sigFile(REGRESS.signatureB64))).not.toThrow();
      expect(parseSignature(sigFile(REGRESS.signatureB64)).keyNumberHex).toBe(REGRESS.keyNumberHex);
    });
  });

  describe('when the message or the signature has a flipped bit', () => {
    it('refuses with E_SIGNATURE', () => {
      const forged = Buffer.from('Attack at dusk!\n');
      expect(codeOf(() => verifyMessage(regressPub, forged, sigFile(REGRESS.signatureB64)))).toBe(
        'E_SIGNATURE',
      );
      const flipped = Buffer.from(REGRESS.message);
      flipped[0] = (flipped[0] ?? 0) ^ 0x20;
      expect(codeOf(() => verifyMessage(regressPub, flipped, sigFile(REGRESS.signatureB64)))).toBe(
        'E_SIGNATURE',
      );
      for (const byte of [10, 40, 73]) {
        const sig = sigFile(flipBit(REGRESS.signatureB64, byte));
        expect(codeOf(() => verifyMessage(regressPub, REGRESS.message, sig))).toBe('E_SIGNATURE');
      }
    });
  });

  describe('when the signature was made by another key', () => {
    it('refuses with E_SIGNATURE naming the key-number mismatch', () => {
      const other = parsePublicKey(HORSE.publicKey);
      let error: unknown;
      try {
        verifyMessage(other, REGRESS.message, sigFile(REGRESS.signatureB64));
      } catch (err) {
        error = err;
      }
      expect((error as { code: string }).code).toBe('E_SIGNATURE');
      expect((error as { details: Record<string, string> }).details).toEqual({
        signatureKeyNumber: REGRESS.keyNumberHex,
        publicKeyNumber: other.keyNumberHex,
      });
    });
  });

  describe('when the key number matches but the key does not', () => {
    it('refuses with E_SIGNATURE', () => {
      const impostor = { ...parsePublicKey(HORSE.publicKey), keyNumber: regressPub.keyNumber };
      expect(codeOf(() => verifyMessage(impostor, REGRESS.message, sigFile(REGRESS.signatureB64)))).toBe(
        'E_SIGNATURE',
      );
    });
  });

  describe('when the signature file is garbled', () => {
    const cases: [string, string][] = [
      ['empty', ''],
      ['only a comment', 'untrusted comment: x\n'],
      ['missing final newline', `untrusted comment: x\n${REGRESS.signatureB64}`],
      ['truncated base64', sigFile(REGRESS.signatureB64.slice(0, 96))],
      ['a public key', REGRESS.publicKey],
      ['bad comment header', `Untrusted comment: x\n${REGRESS.signatureB64}\n`],
      ['non-canonical padding', sigFile(REGRESS.signatureB64.slice(0, 98) + 'x=')],
    ];
    it.each(cases)('refuses %s with E_SIGNATURE', (_name, text) => {
      expect(codeOf(() => verifyMessage(regressPub, REGRESS.message, text))).toBe('E_SIGNATURE');
      expect(codeOf(() => parseSignature(text))).toBe('E_SIGNATURE');
    });
  });
});

describe('verifyEmbedded', () => {
  describe('when given an embedded-mode file', () => {
    it('returns the message it carries', () => {
      const file = signEmbedded(regressSec, REGRESS.message);
      expect(verifyEmbedded(regressPub, file)).toEqual(REGRESS.message);
      // The embedded layout is the detached signature followed by the message (signify -e).
      expect(file.toString().endsWith(`${REGRESS.signatureB64}\n${REGRESS.message.toString()}`)).toBe(true);
    });
  });

  describe('when the embedded message was altered', () => {
    it('refuses with E_SIGNATURE', () => {
      const file = Buffer.concat([
        Buffer.from(sigFile(REGRESS.signatureB64)),
        Buffer.from('Attack at noon!\n'),
      ]);
      expect(codeOf(() => verifyEmbedded(regressPub, file))).toBe('E_SIGNATURE');
    });
  });
});

describe('a fresh key pair', () => {
  it('signs and verifies, and refuses a signature by another fresh key', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const msg = Buffer.from('payload');
    const sig = signMessage(decryptSecretKey(a.secretKey), msg);
    expect(() => verifyMessage(parsePublicKey(a.publicKey), msg, sig)).not.toThrow();
    expect(codeOf(() => verifyMessage(parsePublicKey(b.publicKey), msg, sig))).toBe('E_SIGNATURE');
  });
});
