import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decryptSecretKey,
  encryptSecretKey,
  generateKeyPair,
  isPublicKeyLine,
  loadPublicKey,
  MAX_KDF_ROUNDS,
  parsePublicKey,
  publicKeyLine,
  secretKeyNeedsPassphrase,
} from '@minerhaul/signing';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { codeOf, HORSE, REGRESS } from './vectors';

const regressLine = REGRESS.publicKey.split('\n')[1] ?? '';
const secretLine = REGRESS.secretKey.split('\n')[1] ?? '';

/** Re-encodes the regress secret key after `edit` changed its struct. */
function editedSecret(edit: (data: Buffer) => void): string {
  const data = Buffer.from(secretLine, 'base64');
  edit(data);
  return `untrusted comment: edited\n${data.toString('base64')}\n`;
}

describe('parsePublicKey', () => {
  describe('when given the regress public key file', () => {
    it('returns its key number, key and comment', () => {
      const key = parsePublicKey(REGRESS.publicKey);
      expect(key.keyNumberHex).toBe(REGRESS.keyNumberHex);
      expect(key.key.length).toBe(32);
      expect(key.comment).toBe('signify public key');
      expect(publicKeyLine(key)).toBe(regressLine);
    });
  });

  describe('when given the bare base64 line or a file without its final newline', () => {
    it('returns the same key', () => {
      expect(parsePublicKey(regressLine).key).toEqual(parsePublicKey(REGRESS.publicKey).key);
      expect(parsePublicKey(REGRESS.publicKey.trimEnd()).keyNumberHex).toBe(REGRESS.keyNumberHex);
    });
  });

  describe('when the file is garbled', () => {
    const cases: [string, string][] = [
      ['empty', ''],
      ['no comment header', `comment: x\n${regressLine}\n`],
      ['empty comment', `untrusted comment: \n${regressLine}\n`],
      ['comment too long', `untrusted comment: ${'c'.repeat(1024)}\n${regressLine}\n`],
      ['truncated base64', `untrusted comment: k\n${regressLine.slice(0, 40)}\n`],
      ['base64 of a longer struct', `untrusted comment: k\n${secretLine}\n`],
      ['junk inside base64', `untrusted comment: k\n${regressLine.slice(0, 20)}!${regressLine.slice(21)}\n`],
      ['wrong algorithm', `untrusted comment: k\n${Buffer.from('Xx' + 'a'.repeat(40)).toString('base64')}\n`],
      ['trailing data', `${REGRESS.publicKey}extra line\n`],
      ['bare line truncated', regressLine.slice(0, 55)],
    ];
    it.each(cases)('refuses %s with E_KEY', (_name, text) => {
      expect(codeOf(() => parsePublicKey(text))).toBe('E_KEY');
    });
  });
});

describe('loadPublicKey', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());

  describe('when given a path', () => {
    it('reads the key file', () => {
      const path = join(tmp.path, 'k.pub');
      writeFileSync(path, REGRESS.publicKey);
      expect(loadPublicKey(path).keyNumberHex).toBe(REGRESS.keyNumberHex);
    });
  });

  describe('when given the base64 line', () => {
    it('parses it', () => {
      expect(loadPublicKey(regressLine).keyNumberHex).toBe(REGRESS.keyNumberHex);
    });
  });

  describe('when the path does not exist, the file is too large or garbled', () => {
    it('refuses with E_KEY', () => {
      expect(codeOf(() => loadPublicKey(join(tmp.path, 'missing.pub')))).toBe('E_KEY');
      const big = join(tmp.path, 'big.pub');
      writeFileSync(big, 'x'.repeat(5000));
      expect(codeOf(() => loadPublicKey(big))).toBe('E_KEY');
      const bad = join(tmp.path, 'bad.pub');
      writeFileSync(bad, 'untrusted comment: x\nnot base64\n');
      expect(codeOf(() => loadPublicKey(bad))).toBe('E_KEY');
      expect(codeOf(() => loadPublicKey(tmp.path))).toBe('E_KEY');
    });
  });
});

describe('isPublicKeyLine', () => {
  describe('when given a bare public key line', () => {
    it('accepts it, with surrounding whitespace too', () => {
      expect(isPublicKeyLine(regressLine)).toBe(true);
      expect(isPublicKeyLine(`  ${regressLine}\n`)).toBe(true);
    });
  });

  describe('when given a path, a secret key line or a cut line', () => {
    it.each([
      ['a path', '/etc/minerhaul/keys/release.pub'],
      ['a secret key line', secretLine],
      ['a cut line', regressLine.slice(0, -1)],
      ['an empty string', ''],
    ])('refuses %s', (_what, value) => {
      expect(isPublicKeyLine(value)).toBe(false);
    });
  });
});

describe('decryptSecretKey', () => {
  describe('when given the "correct horse" key and its passphrase', () => {
    it('returns the key matching the public key', () => {
      expect(secretKeyNeedsPassphrase(HORSE.secretKey)).toBe(true);
      const key = decryptSecretKey(HORSE.secretKey, HORSE.passphrase);
      const pub = parsePublicKey(HORSE.publicKey);
      expect(key.publicKey).toEqual(pub.key);
      expect(key.keyNumber).toEqual(pub.keyNumber);
      expect(key.comment).toBe('horse secret key');
    });
  });

  describe('when the passphrase is wrong, empty or missing', () => {
    it('refuses with E_KEY', () => {
      expect(codeOf(() => decryptSecretKey(HORSE.secretKey, 'correct horsE'))).toBe('E_KEY');
      expect(codeOf(() => decryptSecretKey(HORSE.secretKey, ''))).toBe('E_KEY');
      expect(codeOf(() => decryptSecretKey(HORSE.secretKey))).toBe('E_KEY');
    });
  });

  describe('when the file is garbled', () => {
    const cases: [string, string][] = [
      ['truncated', REGRESS.secretKey.slice(0, 80)],
      ['a public key', REGRESS.publicKey],
      ['unsupported KDF', editedSecret((d) => d.write('XX', 2, 'latin1'))],
      ['flipped checksum bit', editedSecret((d) => (d[24] = (d[24] ?? 0) ^ 1))],
      ['flipped secret bit', editedSecret((d) => (d[50] = (d[50] ?? 0) ^ 1))],
      ['absurd KDF rounds', editedSecret((d) => d.writeUInt32BE(MAX_KDF_ROUNDS + 1, 4))],
      ['not text at all', '\u0000\u0001\u0002'],
    ];
    it.each(cases)('refuses %s with E_KEY', (_name, text) => {
      expect(codeOf(() => decryptSecretKey(text, 'pw'))).toBe('E_KEY');
    });
  });

  describe('when the public half does not belong to the seed', () => {
    it('refuses with E_KEY even though the checksum matches', () => {
      const a = decryptSecretKey(REGRESS.secretKey);
      const other = decryptSecretKey(generateKeyPair().secretKey);
      const text = encryptSecretKey(
        { keyNumber: a.keyNumber, seed: a.seed, publicKey: other.publicKey },
        'mixed',
      );
      expect(codeOf(() => decryptSecretKey(text))).toBe('E_KEY');
    });
  });
});

describe('generateKeyPair', () => {
  describe('when no passphrase is given', () => {
    it('returns signify-sized files with rounds 0 and "<comment> public/secret key" comments', () => {
      const pair = generateKeyPair({ comment: 'release' });
      const [pubComment, pubB64] = pair.publicKey.split('\n');
      const [secComment, secB64] = pair.secretKey.split('\n');
      expect(pubComment).toBe('untrusted comment: release public key');
      expect(secComment).toBe('untrusted comment: release secret key');
      expect(pubB64?.length).toBe(56);
      expect(secB64?.length).toBe(140);
      expect(Buffer.from(secB64 ?? '', 'base64').readUInt32BE(4)).toBe(0);
      const sec = decryptSecretKey(pair.secretKey);
      const pub = parsePublicKey(pair.publicKey);
      expect(sec.publicKey).toEqual(pub.key);
      expect(pub.keyNumberHex).toBe(pair.keyNumberHex);
    });
  });

  describe('when a passphrase is given', () => {
    it('returns a key encrypted with 42 rounds that only that passphrase opens', () => {
      const pair = generateKeyPair({ passphrase: 'hunter2' });
      expect(pair.publicKey.startsWith('untrusted comment: minerhaul public key\n')).toBe(true);
      expect(Buffer.from(pair.secretKey.split('\n')[1] ?? '', 'base64').readUInt32BE(4)).toBe(42);
      expect(decryptSecretKey(pair.secretKey, 'hunter2').publicKey).toEqual(
        parsePublicKey(pair.publicKey).key,
      );
      expect(codeOf(() => decryptSecretKey(pair.secretKey, 'hunter3'))).toBe('E_KEY');
    });
  });

  describe('when the passphrase is empty or the comment cannot be framed', () => {
    it('refuses with E_CONFIG', () => {
      expect(codeOf(() => generateKeyPair({ passphrase: '' }))).toBe('E_CONFIG');
      expect(codeOf(() => generateKeyPair({ comment: 'two\nlines' }))).toBe('E_CONFIG');
      expect(codeOf(() => generateKeyPair({ comment: 'x'.repeat(1020) }))).toBe('E_CONFIG');
    });
  });
});
