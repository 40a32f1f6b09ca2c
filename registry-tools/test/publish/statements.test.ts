import { Readable } from 'node:stream';
import { encodeStatement, createStatement, signMessage } from '@minerhaul/signing';
import { EMPTY_DESCRIPTOR, MEDIA_TYPE_OCI_MANIFEST } from '../../src/manifest';
import {
  MAX_RELEASE_ARTIFACTS,
  RELEASE_ARTIFACT_TYPE,
  STATEMENT_MEDIA_TYPE,
  buildStatementArtifact,
  ensureReferrerListed,
  fetchReleaseStatements,
  storeReleaseStatement,
  verifyReleaseStatements,
} from '../../src/statements';
import { parseExpiry } from '../../src/publish';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTestImage, expectCode, makeKey } from './fixtures';
import { MemoryStore, digestOf } from './memory-store';

describe('statement artifacts', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  const alice = makeKey();
  beforeAll(() => {
    tmp = makeTmpDir();
  });
  afterAll(() => tmp.cleanup());

  it('returns the decision-0200 shape: artifactType, empty config, statement + signature layers, subject, annotations', () => {
    const subject = {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest: `sha256:${'1'.repeat(64)}`,
      size: 10,
    };
    const a = buildStatementArtifact({
      subject,
      statement: Buffer.from('{"a":1}'),
      signature: 'untrusted comment: x\nAAAA\n',
      channel: 'stable',
      sequence: 7,
      keyNumber: '0011223344556677',
      created: '2026-01-01T00:00:00Z',
    });
    const m = JSON.parse(a.manifest.toString('utf8')) as Record<string, unknown>;
    expect(m).toMatchObject({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.minerhaul.release.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2 },
      layers: [
        { mediaType: 'application/vnd.minerhaul.statement.v1+json', size: 7 },
        { mediaType: 'application/vnd.minerhaul.signify.sig.v1' },
      ],
      subject,
      annotations: {
        'dev.minerhaul.channel': 'stable',
        'dev.minerhaul.sequence': '7',
        'dev.minerhaul.key-number': '0011223344556677',
        'org.opencontainers.image.created': '2026-01-01T00:00:00Z',
      },
    });
    expect(a.descriptor.digest).toBe(digestOf(a.manifest));
  });

  describe('when foreign referrers sit beside the image', () => {
    it('returns only well-formed release statement artifacts', async () => {
      const store = new MemoryStore();
      const built = await buildTestImage(store, tmp.path, '1.0.0', 'stable');
      const subject = built.index;
      const statement = encodeStatement(
        createStatement({
          repository: store.repository,
          digest: subject.digest,
          version: '1.0.0',
          channel: 'stable',
          sequence: 1,
        }),
      );
      await storeReleaseStatement(store, {
        subject,
        statement,
        signature: signMessage(alice.secret, statement),
        channel: 'stable',
        sequence: 1,
        keyNumber: alice.secret.keyNumberHex,
        created: '2026-01-01T00:00:00Z',
      });
      // A referrer with our artifactType but three layers, and a cosign-like one: both ignored.
      await store.putBlob(EMPTY_DESCRIPTOR, () => Readable.from([Buffer.from('{}')]));
      const odd = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPE_OCI_MANIFEST,
          artifactType: RELEASE_ARTIFACT_TYPE,
          config: EMPTY_DESCRIPTOR,
          layers: [
            EMPTY_DESCRIPTOR,
            EMPTY_DESCRIPTOR,
            { ...EMPTY_DESCRIPTOR, mediaType: STATEMENT_MEDIA_TYPE },
          ],
          subject,
        }),
      );
      const oddDesc = await store.putManifest(odd, MEDIA_TYPE_OCI_MANIFEST);
      await ensureReferrerListed(store, subject.digest, { ...oddDesc, artifactType: RELEASE_ARTIFACT_TYPE });
      expect(await store.listReferrers(subject.digest)).toHaveLength(2);
      const found = await fetchReleaseStatements(store, subject.digest);
      expect(found).toHaveLength(1);
      expect(found[0]?.statement.equals(statement)).toBe(true);
    });

    it('reads at most MAX_RELEASE_ARTIFACTS referrer manifests however many are listed', async () => {
      const store = new MemoryStore();
      const built = await buildTestImage(store, tmp.path, '1.0.0', 'stable');
      const subject = built.index;
      await store.putBlob(EMPTY_DESCRIPTOR, () => Readable.from([Buffer.from('{}')]));
      for (let i = 0; i < MAX_RELEASE_ARTIFACTS + 20; i++) {
        const junk = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MEDIA_TYPE_OCI_MANIFEST,
            artifactType: RELEASE_ARTIFACT_TYPE,
            config: EMPTY_DESCRIPTOR,
            layers: [EMPTY_DESCRIPTOR],
            subject,
            annotations: { n: String(i) },
          }),
        );
        const desc = await store.putManifest(junk, MEDIA_TYPE_OCI_MANIFEST);
        await ensureReferrerListed(store, subject.digest, { ...desc, artifactType: RELEASE_ARTIFACT_TYPE });
      }
      const reads: string[] = [];
      const getManifest = store.getManifest.bind(store);
      store.getManifest = (reference: string) => {
        reads.push(reference);
        return getManifest(reference);
      };
      expect(await fetchReleaseStatements(store, subject.digest)).toEqual([]);
      const referrerReads = reads.filter((r) => r !== `sha256-${subject.digest.slice(7)}`);
      expect(referrerReads.length).toBeLessThanOrEqual(MAX_RELEASE_ARTIFACTS);
      expect(referrerReads.length).toBeGreaterThan(0);
    });
  });

  describe('when the stored statements do not verify', () => {
    it('refuses a statement signed by an unknown key with E_SIGNATURE', () => {
      const other = makeKey();
      const statement = encodeStatement(
        createStatement({
          repository: 'r',
          digest: `sha256:${'2'.repeat(64)}`,
          version: '1',
          channel: 'c',
          sequence: 1,
        }),
      );
      const fetched = [
        {
          artifact: EMPTY_DESCRIPTOR,
          statement,
          signature: signMessage(other.secret, statement),
          annotations: {},
        },
      ];
      expect(() =>
        verifyReleaseStatements(fetched, {
          trustedKeys: [alice.public],
          threshold: 1,
          expect: { repository: 'r', digest: `sha256:${'2'.repeat(64)}`, channel: 'c' },
        }),
      ).toThrow(expect.objectContaining({ code: 'E_SIGNATURE' }));
    });

    it('returns the highest valid sequence when several statements verify', () => {
      const digest = `sha256:${'3'.repeat(64)}`;
      const make = (
        sequence: number,
      ): {
        artifact: typeof EMPTY_DESCRIPTOR;
        statement: Buffer;
        signature: string;
        annotations: Record<string, string>;
      } => {
        const statement = encodeStatement(
          createStatement({ repository: 'r', digest, version: '1', channel: 'c', sequence }),
        );
        return {
          artifact: EMPTY_DESCRIPTOR,
          statement,
          signature: signMessage(alice.secret, statement),
          annotations: {},
        };
      };
      const v = verifyReleaseStatements([make(3), make(9), make(4)], {
        trustedKeys: [alice.public],
        threshold: 1,
        expect: { repository: 'r', digest, channel: 'c' },
      });
      expect(v.statement.sequence).toBe(9);
    });

    it('refuses an empty list with E_SIGNATURE', async () => {
      await expectCode(
        () =>
          verifyReleaseStatements([], {
            trustedKeys: [alice.public],
            threshold: 1,
            expect: { repository: 'r', digest: `sha256:${'4'.repeat(64)}`, channel: 'c' },
          }),
        'E_SIGNATURE',
      );
    });
  });
});

describe('parseExpiry', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it.each([
    ['90d', '2026-04-01T00:00:00.000Z'],
    ['12h', '2026-01-01T12:00:00.000Z'],
    ['2w', '2026-01-15T00:00:00.000Z'],
    ['2027-06-01T00:00:00Z', '2027-06-01T00:00:00.000Z'],
  ])('returns the expiry for %s', (input, expected) => {
    expect(parseExpiry(input, now).toISOString()).toBe(expected);
  });
  it.each(['0d', '10x', 'tomorrow', '2027-13-01T00:00:00Z'])('refuses %s with E_CONFIG', async (input) => {
    await expectCode(() => parseExpiry(input, now), 'E_CONFIG');
  });
});
