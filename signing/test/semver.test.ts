import { compareSemver, isSemver } from '@minerhaul/signing';

describe('compareSemver', () => {
  it.each([
    ['1.0.0', '2.0.0', -1],
    ['2.1.0', '2.0.9', 1],
    ['1.0.0-alpha', '1.0.0', -1],
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['1.0.0-alpha.1', '1.0.0-alpha.beta', -1],
    ['1.0.0-beta.2', '1.0.0-beta.11', -1],
    ['1.0.0-rc.1', '1.0.0-beta.11', 1],
    ['1.0.0+build.1', '1.0.0+build.2', 0],
    ['10.0.0', '9.99.99', 1],
  ])('compares %s with %s as %i', (a, b, expected) => {
    expect(Math.sign(compareSemver(a, b))).toBe(expected);
    expect(Math.sign(compareSemver(b, a))).toBe(-expected || 0);
  });

  it('throws on a version that is not semver', () => {
    expect(() => compareSemver('1.0', '1.0.0')).toThrow(TypeError);
  });
});

describe('isSemver', () => {
  it('accepts semver 2.0 and refuses leading zeros or missing parts', () => {
    expect(['0.1.0', '1.2.3-rc.1+abc', '1.0.0-0a'].every(isSemver)).toBe(true);
    expect(['01.0.0', '1.2', '1.0.0-01', 'v1.0.0', '1.0.0-'].some(isSemver)).toBe(false);
  });
});
