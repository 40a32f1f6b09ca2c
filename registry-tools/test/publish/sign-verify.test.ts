import { join } from 'node:path';
import { Readable } from 'node:stream';
import { EMPTY_DESCRIPTOR, MEDIA_TYPE_OCI_MANIFEST } from '../../src/manifest';
import { OciLayoutStore } from '../../src/layout/oci-layout-store';
import { fetchReleaseStatements, RELEASE_ARTIFACT_TYPE } from '../../src/statements';
import { inspectImage, promoteImage, signImage, verifyImage } from '../../src/publish';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTestImage, expectCode, makeKey } from './fixtures';
import { MemoryStore } from './memory-store';

describe('sign and verify', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  const alice = makeKey();
  const bob = makeKey();
  const mallory = makeKey();

  beforeAll(() => {
    tmp = makeTmpDir();
  });
  afterAll(() => tmp.cleanup());

  const layout = (name: string): OciLayoutStore =>
    new OciLayoutStore(join(tmp.path, name), 'example.org/miner');

  describe('when one maintainer signs a tag', () => {
    it('returns a statement for the tag as channel with sequence 1 that verify accepts', async () => {
      const store = layout('one');
      const built = await buildTestImage(store, tmp.path, '1.0.0', 'stable');
      const signed = await signImage(store, { reference: 'stable', secretKey: alice.secret });
      expect(signed.statement).toMatchObject({
        repository: 'example.org/miner',
        digest: built.index.digest,
        version: '1.0.0',
        channel: 'stable',
        sequence: 1,
      });
      const verified = await verifyImage(store, { reference: 'stable', trustedKeys: [alice.public] });
      expect(verified.statement.digest).toBe(built.index.digest);
      expect(verified.validKeyNumbers).toEqual([alice.secret.keyNumberHex]);
    });
  });

  describe('when a later release is signed for the same channel', () => {
    it('returns the next sequence number', async () => {
      const store = layout('seq');
      await buildTestImage(store, tmp.path, '1.0.0', 'stable');
      await signImage(store, { reference: 'stable', secretKey: alice.secret });
      await buildTestImage(store, tmp.path, '1.0.0', 'v1.0.0'); // keep 1.0.0 tagged after stable moves
      await buildTestImage(store, tmp.path, '1.1.0', 'stable');
      const second = await signImage(store, { reference: 'stable', secretKey: alice.secret });
      expect(second.statement.sequence).toBe(2);
      const other = await signImage(store, { reference: 'stable', channel: 'beta', secretKey: alice.secret });
      expect(other.statement.sequence).toBe(1);
    });

    it('refuses to guess the sequence (E_CONFIG) in a repository with more than 1000 tags', async () => {
      const store = new MemoryStore();
      const built = await buildTestImage(store, tmp.path, '1.0.0', 'stable');
      for (let i = 0; i < 1001; i++) store.tags.set(`v${i}`, built.index.digest);
      await expectCode(signImage(store, { reference: 'stable', secretKey: alice.secret }), 'E_CONFIG');
      const explicit = await signImage(store, { reference: 'stable', secretKey: alice.secret, sequence: 7 });
      expect(explicit.statement.sequence).toBe(7);
    });

    it('returns the next sequence even when the channel tag moved and the old release is untagged', async () => {
      const store = layout('moved');
      await buildTestImage(store, tmp.path, '1.0.0', 'stable');
      await signImage(store, { reference: 'stable', secretKey: alice.secret });
      await buildTestImage(store, tmp.path, '1.1.0', 'stable');
      const second = await signImage(store, { reference: 'stable', secretKey: alice.secret });
      expect(second.statement.sequence).toBe(2);
    });
  });

  describe('when two maintainers sign independently', () => {
    it('co-signs the same statement bytes so a threshold of 2 is met', async () => {
      const store = layout('cosign');
      await buildTestImage(store, tmp.path, '2.0.0', 'stable');
      const a = await signImage(store, { reference: 'stable', secretKey: alice.secret });
      await expectCode(
        verifyImage(store, { reference: 'stable', trustedKeys: [alice.public, bob.public], threshold: 2 }),
        'E_SIGNATURE',
      );
      const b = await signImage(store, { reference: 'stable', secretKey: bob.secret });
      expect(b.cosigned).toBe(true);
      expect(b.statementBytes.equals(a.statementBytes)).toBe(true);
      const verified = await verifyImage(store, {
        reference: 'stable',
        trustedKeys: [alice.public, bob.public],
        threshold: 2,
      });
      expect(verified.validKeyNumbers.sort()).toEqual(
        [alice.secret.keyNumberHex, bob.secret.keyNumberHex].sort(),
      );
      expect(await fetchReleaseStatements(store, a.subject.digest)).toHaveLength(2);
    });

    it('co-signs when both give an expiry within a day of each other, and not when it differs more', async () => {
      const store = layout('cosign-expiry');
      await buildTestImage(store, tmp.path, '2.2.0', 'stable');
      const now = new Date('2026-01-01T00:00:00Z');
      const a = await signImage(store, {
        reference: 'stable',
        secretKey: alice.secret,
        expires: new Date('2026-04-01T00:00:00Z'),
        now,
      });
      const b = await signImage(store, {
        reference: 'stable',
        secretKey: bob.secret,
        expires: new Date('2026-04-01T02:00:00Z'),
        now,
      });
      expect(b.cosigned).toBe(true);
      expect(b.statementBytes.equals(a.statementBytes)).toBe(true);
      const renewed = await signImage(store, {
        reference: 'stable',
        secretKey: alice.secret,
        expires: new Date('2026-07-01T00:00:00Z'),
        now,
      });
      expect(renewed.cosigned).toBe(false);
      expect(renewed.statement.sequence).toBe(a.statement.sequence + 1);
    });

    it('writes nothing when the same key signs twice', async () => {
      const store = layout('twice');
      await buildTestImage(store, tmp.path, '2.1.0', 'stable');
      await signImage(store, { reference: 'stable', secretKey: alice.secret });
      const again = await signImage(store, { reference: 'stable', secretKey: alice.secret });
      expect(again.alreadySigned).toBe(true);
      expect(await fetchReleaseStatements(store, again.subject.digest)).toHaveLength(1);
    });
  });

  describe('when verification must fail', () => {
    let store: OciLayoutStore;
    beforeAll(async () => {
      store = layout('refuse');
      await buildTestImage(store, tmp.path, '3.0.0', 'stable');
      await signImage(store, {
        reference: 'stable',
        secretKey: alice.secret,
        expires: new Date('2030-01-01T00:00:00Z'),
      });
    });

    it('refuses an untrusted key with E_SIGNATURE', async () => {
      await expectCode(
        verifyImage(store, { reference: 'stable', trustedKeys: [mallory.public] }),
        'E_SIGNATURE',
      );
    });
    it('refuses another channel with E_STATEMENT', async () => {
      await expectCode(
        verifyImage(store, { reference: 'stable', channel: 'beta', trustedKeys: [alice.public] }),
        'E_STATEMENT',
      );
    });
    it('refuses another repository identity with E_STATEMENT', async () => {
      await expectCode(
        verifyImage(store, {
          reference: 'stable',
          repository: 'evil.org/miner',
          trustedKeys: [alice.public],
        }),
        'E_STATEMENT',
      );
    });
    it('refuses an expired statement with E_EXPIRED', async () => {
      await expectCode(
        verifyImage(store, {
          reference: 'stable',
          trustedKeys: [alice.public],
          now: new Date('2031-01-01T00:00:00Z'),
        }),
        'E_EXPIRED',
      );
    });
    it('refuses an image without signatures with E_SIGNATURE', async () => {
      await buildTestImage(store, tmp.path, '3.1.0', 'unsigned');
      await expectCode(
        verifyImage(store, { reference: 'unsigned', trustedKeys: [alice.public] }),
        'E_SIGNATURE',
      );
    });
    it('refuses an unknown tag with E_NOT_FOUND', async () => {
      await expectCode(verifyImage(store, { reference: 'nope', trustedKeys: [alice.public] }), 'E_NOT_FOUND');
    });
  });

  describe('when sign gets bad input', () => {
    let store: OciLayoutStore;
    let digest: string;
    beforeAll(async () => {
      store = layout('bad');
      digest = (await buildTestImage(store, tmp.path, '4.0.0', 'stable')).index.digest;
    });
    it('refuses a digest reference without --channel with E_CONFIG', async () => {
      await expectCode(signImage(store, { reference: digest, secretKey: alice.secret }), 'E_CONFIG');
    });
    it('refuses an unknown tag with E_NOT_FOUND', async () => {
      await expectCode(signImage(store, { reference: 'missing', secretKey: alice.secret }), 'E_NOT_FOUND');
    });
    it('refuses a rollout over 100 with E_CONFIG', async () => {
      await expectCode(
        signImage(store, { reference: 'stable', secretKey: alice.secret, rollout: 120 }),
        'E_CONFIG',
      );
    });
    it('refuses an image without a version annotation with E_CONFIG', async () => {
      await store.putBlob(EMPTY_DESCRIPTOR, () => Readable.from([Buffer.from('{}')]));
      const bare = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA_TYPE_OCI_MANIFEST,
          config: EMPTY_DESCRIPTOR,
          layers: [],
        }),
      );
      await store.putManifest(bare, MEDIA_TYPE_OCI_MANIFEST, 'bare');
      await expectCode(signImage(store, { reference: 'bare', secretKey: alice.secret }), 'E_CONFIG');
    });
  });

  describe('when an image is promoted', () => {
    it('tags the same digest, uploads no image blob, and signs for the new channel', async () => {
      const store = new MemoryStore();
      const built = await buildTestImage(store, tmp.path, '5.0.0', 'beta');
      await signImage(store, { reference: 'beta', secretKey: alice.secret });
      const uploadsBefore = store.uploads.length;
      const promoted = await promoteImage(store, {
        reference: 'beta',
        tag: 'stable',
        secretKey: alice.secret,
      });
      expect((await store.resolve('stable'))?.digest).toBe(built.index.digest);
      expect(promoted.statement.channel).toBe('stable');
      const newUploads = store.uploads.slice(uploadsBefore);
      const imageBlobs = new Set([...store.blobs.keys()].filter((d) => !newUploads.includes(d)));
      expect(newUploads.every((d) => !imageBlobs.has(d))).toBe(true);
      expect(newUploads.length).toBeLessThanOrEqual(2); // statement + signature only, never a layer
      const v = await verifyImage(store, { reference: 'stable', trustedKeys: [alice.public] });
      expect(v.statement.channel).toBe('stable');
    });
  });

  describe('when the store does not maintain the referrers fallback tag itself', () => {
    it('returns the statement through the fallback tag we maintain', async () => {
      const store = new MemoryStore();
      const built = await buildTestImage(store, tmp.path, '6.0.0', 'stable');
      await signImage(store, { reference: 'stable', secretKey: alice.secret });
      await signImage(store, { reference: 'stable', secretKey: bob.secret });
      const fallback = `sha256-${built.index.digest.slice('sha256:'.length)}`;
      expect(store.tags.has(fallback)).toBe(true);
      const referrers = await store.listReferrers(built.index.digest, RELEASE_ARTIFACT_TYPE);
      expect(referrers).toHaveLength(2);
    });
  });

  describe('when inspecting a signed image', () => {
    it('returns digest, platforms, version and signatures', async () => {
      const store = layout('inspect');
      const built = await buildTestImage(store, tmp.path, '7.0.0', 'stable');
      await signImage(store, { reference: 'stable', secretKey: alice.secret });
      const info = await inspectImage(store, 'stable');
      expect(info.digest).toBe(built.index.digest);
      expect(info.version).toBe('7.0.0');
      expect(info.platforms).toEqual([
        { platform: { os: 'linux', architecture: 'arm64' }, digest: built.manifests[0]?.digest },
      ]);
      expect(info.signatures).toEqual([
        expect.objectContaining({ channel: 'stable', sequence: 1, keyNumber: alice.secret.keyNumberHex }),
      ]);
    });
  });
});
