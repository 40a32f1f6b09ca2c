import { createStatement, encodeStatement, parseStatement, ReleaseStatement } from '@minerhaul/signing';
import { codeOf } from './vectors';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const fields = {
  repository: 'registry.example/acme/miner',
  digest: DIGEST,
  version: '1.2.3',
  channel: 'stable',
  sequence: 7,
  created: new Date('2026-05-01T10:00:00.250Z'),
};

function problemsOf(fn: () => unknown): { path: string }[] {
  try {
    fn();
  } catch (err) {
    return ((err as { details?: { errors?: { path: string }[] } }).details?.errors ?? []) as {
      path: string;
    }[];
  }
  return [];
}

describe('createStatement', () => {
  describe('when given valid fields', () => {
    it('returns a typed statement with whole-second RFC 3339 dates', () => {
      const s = createStatement({
        ...fields,
        expires: '2026-06-01T00:00:00Z',
        rollout: 25,
        minAgentVersion: '0.2.0',
      });
      expect(s).toEqual({
        type: 'minerhaul.release/v1',
        repository: fields.repository,
        digest: DIGEST,
        version: '1.2.3',
        channel: 'stable',
        sequence: 7,
        created: '2026-05-01T10:00:00Z',
        expires: '2026-06-01T00:00:00Z',
        rollout: 25,
        minAgentVersion: '0.2.0',
      });
    });

    it('encodes to canonical bytes that parse back to the same statement', () => {
      const s = createStatement(fields);
      const bytes = encodeStatement(s);
      expect(bytes.toString()).toBe(
        `{"channel":"stable","created":"2026-05-01T10:00:00Z","digest":"${DIGEST}","repository":"registry.example/acme/miner","sequence":7,"type":"minerhaul.release/v1","version":"1.2.3"}`,
      );
      expect(parseStatement(bytes)).toEqual(s);
    });
  });

  describe('when fields are out of range', () => {
    const bad: [string, object][] = [
      ['negative sequence', { sequence: -1 }],
      ['fractional sequence', { sequence: 1.5 }],
      ['rollout above 100', { rollout: 100.5 }],
      ['bad digest', { digest: 'sha256:xyz' }],
      ['bad channel', { channel: '-stable' }],
      ['bad minAgentVersion', { minAgentVersion: '1.2' }],
      ['bad expires', { expires: 'tomorrow' }],
      ['expires before created', { expires: '2026-04-01T00:00:00Z' }],
    ];
    it.each(bad)('refuses %s with E_CONFIG', (_name, change) => {
      expect(codeOf(() => createStatement({ ...fields, ...change }))).toBe('E_CONFIG');
    });
  });
});

describe('parseStatement', () => {
  const good = encodeStatement(createStatement(fields));

  describe('when the bytes are not canonical', () => {
    it('refuses pretty-printed, reordered, duplicated-key and number-variant encodings with E_STATEMENT', () => {
      const value = JSON.parse(good.toString()) as Record<string, unknown>;
      expect(codeOf(() => parseStatement(JSON.stringify(value, null, 2)))).toBe('E_STATEMENT');
      const reordered = `{"type":"minerhaul.release/v1",${good.toString().slice(1).replace(',"type":"minerhaul.release/v1"', '')}`;
      expect(JSON.parse(reordered)).toEqual(value);
      expect(codeOf(() => parseStatement(reordered))).toBe('E_STATEMENT');
      expect(codeOf(() => parseStatement(good.toString().replace('"sequence":7', '"sequence":7.0')))).toBe(
        'E_STATEMENT',
      );
      expect(codeOf(() => parseStatement(good.toString().replace('{', '{"channel":"beta",')))).toBe(
        'E_STATEMENT',
      );
      expect(codeOf(() => parseStatement(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good])))).toBe(
        'E_STATEMENT',
      );
    });
  });

  describe('when the bytes are not JSON or not UTF-8', () => {
    it('refuses with E_STATEMENT', () => {
      expect(codeOf(() => parseStatement('{"type":'))).toBe('E_STATEMENT');
      expect(codeOf(() => parseStatement(Buffer.from([0x7b, 0xff, 0x7d])))).toBe('E_STATEMENT');
      expect(codeOf(() => parseStatement(Buffer.alloc(70 * 1024, 0x20)))).toBe('E_STATEMENT');
    });
  });

  describe('when the schema is violated', () => {
    it('refuses with E_STATEMENT and lists every error with its JSON path', () => {
      const value = JSON.parse(good.toString()) as Record<string, unknown>;
      delete value.version;
      value.type = 'minerhaul.release/v2';
      value.extra = true;
      value.sequence = -3;
      const bytes = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(value).sort())));
      expect(codeOf(() => parseStatement(bytes))).toBe('E_STATEMENT');
      expect(
        problemsOf(() => parseStatement(bytes))
          .map((p) => p.path)
          .sort(),
      ).toEqual(['/extra', '/sequence', '/type', '/version']);
    });

    it('refuses a leap-second date that cannot be compared', () => {
      const bytes = good.toString().replace('2026-05-01T10:00:00Z', '2026-06-30T23:59:60Z');
      expect(problemsOf(() => parseStatement(bytes)).map((p) => p.path)).toEqual(['/created']);
    });

    it('refuses a JSON array or string', () => {
      expect(codeOf(() => parseStatement('[]'))).toBe('E_STATEMENT');
      expect(codeOf(() => parseStatement('"x"'))).toBe('E_STATEMENT');
    });
  });
});

describe('ReleaseStatement schema', () => {
  it('is exported as a JSON Schema object requiring the v1 fields', () => {
    expect(ReleaseStatement.required).toEqual(
      expect.arrayContaining(['type', 'repository', 'digest', 'version', 'channel', 'sequence', 'created']),
    );
    expect(ReleaseStatement.additionalProperties).toBe(false);
  });
});
