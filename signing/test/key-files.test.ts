import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKeyFile, readMessageFile, readSignatureFile, writeKeyPairFiles } from '@minerhaul/signing';
import { makeTmpDir } from '../../test/support/tmp-dir';
import { codeOf } from './vectors';

const pair = { publicKey: 'pub text\n', secretKey: 'sec text\n' };

describe('writeKeyPairFiles', () => {
  const tmp = makeTmpDir();
  const p = (name: string): string => join(tmp.path, name);
  afterAll(() => tmp.cleanup());

  describe('when both paths are free', () => {
    it('writes the secret key with mode 0600', () => {
      writeKeyPairFiles({ publicKey: p('k.pub'), secretKey: p('k.sec') }, pair);
      expect(readFileSync(p('k.sec'), 'utf8')).toBe(pair.secretKey);
      expect(readFileSync(p('k.pub'), 'utf8')).toBe(pair.publicKey);
      expect(statSync(p('k.sec')).mode & 0o777).toBe(0o600);
    });
  });

  describe('when the public key file already exists', () => {
    it('refuses with E_CONFIG and leaves no new secret key behind', () => {
      writeFileSync(p('taken.pub'), 'old');
      expect(
        codeOf(() => writeKeyPairFiles({ publicKey: p('taken.pub'), secretKey: p('new.sec') }, pair)),
      ).toBe('E_CONFIG');
      expect(existsSync(p('new.sec'))).toBe(false);
      expect(readFileSync(p('taken.pub'), 'utf8')).toBe('old');
    });
  });

  describe('when both paths are the same or the directory is missing', () => {
    it('refuses with E_CONFIG', () => {
      expect(codeOf(() => writeKeyPairFiles({ publicKey: p('same'), secretKey: p('same') }, pair))).toBe(
        'E_CONFIG',
      );
      expect(
        codeOf(() => writeKeyPairFiles({ publicKey: p('x.pub'), secretKey: p('no/dir.sec') }, pair)),
      ).toBe('E_CONFIG');
    });
  });
});

describe('readKeyFile, readSignatureFile, readMessageFile', () => {
  const tmp = makeTmpDir();
  const p = (name: string): string => join(tmp.path, name);
  afterAll(() => tmp.cleanup());

  describe('when the file is missing or a directory', () => {
    it('refuses with the code of the file kind', () => {
      mkdirSync(p('dir'));
      expect(codeOf(() => readKeyFile(p('missing')))).toBe('E_KEY');
      expect(codeOf(() => readKeyFile(p('dir')))).toBe('E_KEY');
      expect(codeOf(() => readSignatureFile(p('missing')))).toBe('E_SIGNATURE');
      expect(codeOf(() => readMessageFile(p('dir')))).toBe('E_CONFIG');
    });
  });

  describe('when a key file is larger than signify reads', () => {
    it('refuses with E_KEY', () => {
      writeFileSync(p('big'), Buffer.alloc(2049, 0x41));
      expect(codeOf(() => readKeyFile(p('big')))).toBe('E_KEY');
      expect(readMessageFile(p('big')).length).toBe(2049);
    });
  });
});
