import { canonicalJson } from '@minerhaul/signing';

describe('canonicalJson', () => {
  describe('when given nested objects', () => {
    it('returns sorted keys without whitespace', () => {
      expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: -0 }] })).toBe(
        '{"a":[true,null,{"c":0,"d":"x"}],"b":1}',
      );
    });
  });

  describe('when keys need UTF-16 code-unit order (RFC 8785 §3.2.3)', () => {
    it('sorts them by code units, not code points', () => {
      // U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16 order.
      expect(canonicalJson({ '\ufb33': 1, '\u{1f600}': 2, a: 3 })).toBe('{"a":3,"\u{1f600}":2,"\ufb33":1}');
    });
  });

  describe('when given numbers and strings', () => {
    it('serializes them as ECMAScript does (RFC 8785 §3.2.2)', () => {
      expect(canonicalJson([1e21, 0.1, 100, 1.5e-7, 'tab\there', '\u001f', 'é'])).toBe(
        '[1e+21,0.1,100,1.5e-7,"tab\\there","\\u001f","é"]',
      );
    });
  });

  describe('when a property is undefined', () => {
    it('leaves it out', () => {
      expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
    });
  });

  describe('when given values without a JSON form', () => {
    it('throws a TypeError', () => {
      expect(() => canonicalJson(NaN)).toThrow(TypeError);
      expect(() => canonicalJson([undefined])).toThrow(TypeError);
      expect(() => canonicalJson(10n)).toThrow(TypeError);
      expect(() => canonicalJson({ at: new Date(0) })).toThrow(TypeError);
      expect(() => canonicalJson(Buffer.from('x'))).toThrow(TypeError);
      expect(canonicalJson(Object.assign(Object.create(null) as object, { k: 1 }))).toBe('{"k":1}');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      expect(() => canonicalJson(cyclic)).toThrow(TypeError);
    });
  });
});
