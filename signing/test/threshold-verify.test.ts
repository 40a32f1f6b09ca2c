import { signMessage, verifyThreshold } from '@minerhaul/signing';
import { freshKeys } from './keys';
import { codeOf } from './vectors';

const [a, b, c, outsider] = freshKeys(4);
if (!a || !b || !c || !outsider) throw new Error('keys');
const trusted = [a.pub, b.pub, c.pub];
const message = Buffer.from('release bytes');
const sign = (k: typeof a): string => signMessage(k.sec, message);

describe('verifyThreshold', () => {
  describe('when k distinct trusted keys signed', () => {
    it('returns their key numbers', () => {
      const result = verifyThreshold(trusted, message, [sign(a), sign(c)], 2);
      expect(result.validKeyNumbers).toEqual([a.pub.keyNumberHex, c.pub.keyNumberHex]);
    });
  });

  describe('when only k-1 valid signatures are given for threshold k', () => {
    it('refuses with E_SIGNATURE', () => {
      expect(codeOf(() => verifyThreshold(trusted, message, [sign(a), sign(b)], 3))).toBe('E_SIGNATURE');
      expect(codeOf(() => verifyThreshold(trusted, message, [], 1))).toBe('E_SIGNATURE');
    });
  });

  describe('when one key signed twice', () => {
    it('counts it once and does not reach threshold 2', () => {
      const twice = [sign(a), signMessage(a.sec, message, 'another comment')];
      expect(codeOf(() => verifyThreshold(trusted, message, twice, 2))).toBe('E_SIGNATURE');
      expect(verifyThreshold(trusted, message, twice, 1).validKeyNumbers).toEqual([a.pub.keyNumberHex]);
    });
  });

  describe('when one key is trusted under two key numbers', () => {
    it('still counts it once (the key number is not signed)', () => {
      const alias = { ...a.pub, keyNumber: Buffer.alloc(8, 9), keyNumberHex: '0909090909090909' };
      const sig = sign(a);
      const forgedNumber = `untrusted comment: x\n${Buffer.concat([
        Buffer.from('Ed'),
        alias.keyNumber,
        Buffer.from(sig.split('\n')[1] ?? '', 'base64').subarray(10),
      ]).toString('base64')}\n`;
      expect(codeOf(() => verifyThreshold([a.pub, alias, b.pub], message, [sig, forgedNumber], 2))).toBe(
        'E_SIGNATURE',
      );
    });
  });

  describe('when some signatures are garbled, untrusted or invalid', () => {
    it('skips them and still accepts enough good ones', () => {
      const bad = ['garbage', signMessage(outsider.sec, message), signMessage(b.sec, Buffer.from('other'))];
      expect(verifyThreshold(trusted, message, [...bad, sign(c)], 1).validKeyNumbers).toEqual([
        c.pub.keyNumberHex,
      ]);
    });

    it('reports every problem when the threshold is missed', () => {
      const bad = ['garbage', signMessage(outsider.sec, message)];
      let details: { problems?: string[] } = {};
      try {
        verifyThreshold(trusted, message, bad, 1);
      } catch (err) {
        details = (err as { details: { problems: string[] } }).details;
      }
      expect(details.problems).toHaveLength(2);
    });
  });

  describe('when the threshold is not a positive integer or exceeds the distinct keys', () => {
    it('refuses with E_CONFIG', () => {
      expect(codeOf(() => verifyThreshold(trusted, message, [sign(a)], 0))).toBe('E_CONFIG');
      expect(codeOf(() => verifyThreshold(trusted, message, [sign(a)], 1.5))).toBe('E_CONFIG');
      expect(codeOf(() => verifyThreshold([a.pub, a.pub], message, [sign(a)], 2))).toBe('E_CONFIG');
    });
  });
});
