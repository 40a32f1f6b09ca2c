import { createStatement, encodeStatement, signMessage, verifyRelease } from '@minerhaul/signing';
import { freshKeys } from './keys';
import { codeOf } from './vectors';

const [a, b, c] = freshKeys(3);
if (!a || !b || !c) throw new Error('keys');
const DIGEST = `sha256:${'cd'.repeat(32)}`;
const expect_ = { repository: 'registry.example/acme/miner', digest: DIGEST, channel: 'stable' };
const NOW = new Date('2026-05-10T00:00:00Z');

function release(overrides: Record<string, unknown> = {}): Buffer {
  return encodeStatement(
    createStatement({
      ...expect_,
      version: '2.0.0',
      sequence: 5,
      created: '2026-05-01T00:00:00Z',
      expires: '2026-06-01T00:00:00Z',
      minAgentVersion: '0.3.0',
      ...overrides,
    }),
  );
}

function verify(statement: Buffer, extra: Record<string, unknown> = {}): unknown {
  return verifyRelease({
    statement,
    signatures: [signMessage(a!.sec, statement), signMessage(b!.sec, statement)],
    trustedKeys: [a!.pub, b!.pub, c!.pub],
    threshold: 2,
    expect: expect_,
    installedSequence: 5,
    agentVersion: '0.3.0',
    now: NOW,
    ...extra,
  });
}

describe('verifyRelease', () => {
  describe('when everything matches', () => {
    it('returns the statement (an equal sequence is the installed release itself)', () => {
      expect(verify(release())).toMatchObject({ sequence: 5, version: '2.0.0', digest: DIGEST });
      expect(verify(release({ sequence: 6 }), { installedSequence: undefined })).toMatchObject({
        sequence: 6,
      });
    });
  });

  describe('when repository, digest or channel differ', () => {
    it.each([
      ['repository', { repository: 'registry.example/evil/miner' }],
      ['digest', { digest: `sha256:${'ee'.repeat(32)}` }],
      ['channel', { channel: 'beta' }],
    ])('refuses a different %s with E_STATEMENT', (_name, change) => {
      expect(codeOf(() => verify(release(change)))).toBe('E_STATEMENT');
    });
  });

  describe('when the sequence is lower than installed', () => {
    it('refuses with E_ROLLBACK', () => {
      expect(codeOf(() => verify(release({ sequence: 4 })))).toBe('E_ROLLBACK');
    });
  });

  describe('when the sequence equals the installed one', () => {
    it('accepts the installed digest itself, and refuses another digest with E_ROLLBACK (mix-and-match)', () => {
      expect(codeOf(() => verify(release(), { installedDigest: DIGEST }))).toBe('no error');
      const otherInstalled = `sha256:${'ab'.repeat(32)}`;
      expect(codeOf(() => verify(release(), { installedDigest: otherInstalled }))).toBe('E_ROLLBACK');
      expect(codeOf(() => verify(release({ sequence: 6 }), { installedDigest: otherInstalled }))).toBe(
        'no error',
      );
    });
  });

  describe('when expires has passed', () => {
    it('refuses with E_EXPIRED, from the expiry instant on', () => {
      expect(codeOf(() => verify(release(), { now: new Date('2026-06-01T00:00:00Z') }))).toBe('E_EXPIRED');
      expect(codeOf(() => verify(release(), { now: new Date('2026-05-31T23:59:59Z') }))).toBe('no error');
    });
  });

  describe('when the agent is older than minAgentVersion', () => {
    it('refuses with E_INCOMPATIBLE', () => {
      expect(codeOf(() => verify(release(), { agentVersion: '0.3.0-rc.1' }))).toBe('E_INCOMPATIBLE');
    });
  });

  describe('when signatures are missing, too few or over other bytes', () => {
    it('refuses with E_SIGNATURE before looking at the statement', () => {
      const s = release({ sequence: 1 });
      expect(codeOf(() => verify(s, { signatures: [] }))).toBe('E_SIGNATURE');
      expect(codeOf(() => verify(s, { signatures: [signMessage(a!.sec, s)] }))).toBe('E_SIGNATURE');
      // Signed bytes re-encoded differently (here: pretty-printed) no longer verify.
      const pretty = Buffer.from(JSON.stringify(JSON.parse(s.toString()), null, 1));
      expect(
        codeOf(() => verify(pretty, { signatures: [signMessage(a!.sec, s), signMessage(b!.sec, s)] })),
      ).toBe('E_SIGNATURE');
    });
  });

  describe('when validly signed bytes are not a valid statement', () => {
    it('refuses with E_STATEMENT', () => {
      expect(codeOf(() => verify(Buffer.from('{"type":"something else"}')))).toBe('E_STATEMENT');
    });
  });
});
