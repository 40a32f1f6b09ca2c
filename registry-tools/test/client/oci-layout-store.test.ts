import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  MEDIA_TYPE_OCI_INDEX,
  OciLayoutStore,
  downloadBlob,
  openStore,
  readDockerCredentials,
  referrersFallbackTag,
} from '@minerhaul/registry-tools';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { blob, codeOf, makeImage, makeReferrer, pushImage, readAll } from './test-image';

describe('OciLayoutStore', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  let n = 0;
  const fresh = (): { dir: string; store: OciLayoutStore } => {
    const dir = join(tmp.path, `layout-${n++}`);
    return { dir, store: new OciLayoutStore(dir) };
  };

  describe('when writing and reading an image', () => {
    it('creates a valid layout, tags, and reads back verified content', async () => {
      const { dir, store } = fresh();
      const image = makeImage({ a: '1' });
      await pushImage(store, image, 'v1');
      expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({
        imageLayoutVersion: '1.0.0',
      });
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
      expect(index.manifests).toEqual([
        { ...image.descriptor, annotations: { 'org.opencontainers.image.ref.name': 'v1' } },
      ]);
      expect(await store.resolve('v1')).toEqual(image.descriptor);
      expect(await store.resolve(image.descriptor.digest)).toEqual(image.descriptor);
      expect((await store.getManifest('v1'))?.bytes.equals(image.manifest)).toBe(true);
      const layer = image.blobs[1]!;
      expect((await readAll(await store.openBlob(layer.descriptor))).equals(layer.bytes)).toBe(true);
      const tail = await readAll(await store.openBlob(layer.descriptor, { offset: 10 }));
      expect(tail.equals(layer.bytes.subarray(10))).toBe(true);
    });

    it('moves a tag to a new manifest and lists tags once', async () => {
      const { store } = fresh();
      const one = makeImage({ a: '1' });
      const two = makeImage({ a: '2' });
      await pushImage(store, one, 'stable');
      await pushImage(store, two, 'stable');
      await pushImage(store, two, 'beta');
      expect((await store.resolve('stable'))?.digest).toBe(two.descriptor.digest);
      expect((await store.listTags()).sort()).toEqual(['beta', 'stable']);
      // The old manifest stays reachable by digest.
      expect((await store.resolve(one.descriptor.digest))?.digest).toBe(one.descriptor.digest);
    });

    it('answers undefined for unknown tags and E_NOT_FOUND for missing blobs', async () => {
      const { store } = fresh();
      expect(await store.resolve('nope')).toBeUndefined();
      expect(await store.listTags()).toEqual([]);
      const missing = blob(Buffer.from('x'), 'application/octet-stream').descriptor;
      expect(await store.hasBlob(missing)).toBe(false);
      expect(await codeOf(store.openBlob(missing))).toBe('E_NOT_FOUND');
    });

    it('is what openStore returns for oci-layout: references', async () => {
      const { dir } = fresh();
      const opened = openStore(`oci-layout:${dir}:v1`);
      expect(opened).toBeInstanceOf(OciLayoutStore);
      expect(opened.repository).toBe(`oci-layout:${dir}`);
      expect(openStore(`oci-layout:${dir}`, { identity: 'ghcr.io/org/miner' }).repository).toBe(
        'ghcr.io/org/miner',
      );
    });
  });

  describe('when content on disk or in transit is wrong', () => {
    it('refuses a blob stream that does not match and keeps nothing', async () => {
      const { dir, store } = fresh();
      const good = blob(randomBytes(1000), 'application/octet-stream');
      expect(await codeOf(store.putBlob(good.descriptor, () => Readable.from([randomBytes(1000)])))).toBe(
        'E_DIGEST',
      );
      expect(
        await codeOf(store.putBlob(good.descriptor, () => Readable.from([good.bytes, Buffer.from('x')]))),
      ).toBe('E_DIGEST');
      expect(await store.hasBlob(good.descriptor)).toBe(false);
      expect(existsSync(join(dir, 'blobs', 'sha256', good.descriptor.digest.slice(7)))).toBe(false);
    });

    it('detects a tampered manifest or blob file (E_DIGEST)', async () => {
      const { dir, store } = fresh();
      const image = makeImage({ a: 'tamper' });
      await pushImage(store, image, 'v1');
      const layer = image.blobs[1]!;
      const layerPath = join(dir, 'blobs', 'sha256', layer.descriptor.digest.slice(7));
      const bytes = readFileSync(layerPath);
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      writeFileSync(layerPath, bytes);
      expect(await codeOf(readAll(await store.openBlob(layer.descriptor)))).toBe('E_DIGEST');
      writeFileSync(
        join(dir, 'blobs', 'sha256', image.descriptor.digest.slice(7)),
        image.manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2'),
      );
      expect(await codeOf(store.getManifest('v1'))).toBe('E_DIGEST');
    });

    it('refuses a corrupt index.json with E_REGISTRY', async () => {
      const { dir, store } = fresh();
      await pushImage(store, makeImage({ a: 'x' }), 'v1');
      writeFileSync(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":"nope"}]}');
      expect(await codeOf(store.resolve('v1'))).toBe('E_REGISTRY');
    });

    it('refuses a manifest that is not one (E_REGISTRY)', async () => {
      const { store } = fresh();
      expect(
        await codeOf(
          store.putManifest(Buffer.from('{"hello":1}'), 'application/vnd.oci.image.manifest.v1+json'),
        ),
      ).toBe('E_REGISTRY');
    });
  });

  describe('when manifests with a subject are stored', () => {
    it('keeps every concurrent referrer in the fallback tag index', async () => {
      const { store } = fresh();
      const subject = await pushImage(store, makeImage({ a: 'subject' }), 'v1');
      const referrers = Array.from({ length: 5 }, (_, i) => makeReferrer(subject, `{"i":${i}}`));
      await Promise.all(referrers.map((r) => pushImage(store, r)));
      const listed = await store.listReferrers(subject.digest);
      expect(listed.map((d) => d.digest).sort()).toEqual(referrers.map((r) => r.descriptor.digest).sort());
      expect((await store.resolve(referrersFallbackTag(subject.digest)))?.mediaType).toBe(
        MEDIA_TYPE_OCI_INDEX,
      );
      expect(await store.listReferrers(subject.digest, 'application/vnd.other')).toEqual([]);
    });
  });
});

describe('downloadBlob', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());

  it('resumes from a partial file it verifies as part of the whole', async () => {
    const store = new OciLayoutStore(join(tmp.path, 'src'));
    const data = blob(randomBytes(5000), 'application/octet-stream');
    await store.putBlob(data.descriptor, () => Readable.from([data.bytes]));
    const dest = join(tmp.path, 'out.bin');
    writeFileSync(`${dest}.partial`, data.bytes.subarray(0, 1234));
    const seen: number[] = [];
    await downloadBlob(store, data.descriptor, dest, { onProgress: (e) => seen.push(e.transferred) });
    expect(readFileSync(dest).equals(data.bytes)).toBe(true);
    expect(seen[0]).toBeGreaterThan(1234);
    expect(existsSync(`${dest}.partial`)).toBe(false);
  });

  it('starts over when the held prefix is wrong, and fails with E_DIGEST when the source is wrong', async () => {
    const store = new OciLayoutStore(join(tmp.path, 'src2'));
    const data = blob(randomBytes(5000), 'application/octet-stream');
    await store.putBlob(data.descriptor, () => Readable.from([data.bytes]));
    const dest = join(tmp.path, 'bad.bin');
    writeFileSync(`${dest}.partial`, randomBytes(1000));
    await downloadBlob(store, data.descriptor, dest);
    expect(readFileSync(dest).equals(data.bytes)).toBe(true);
    const lying = { ...data.descriptor, digest: blob(randomBytes(5000), 'x').descriptor.digest };
    const blobFile = join(tmp.path, 'src2', 'blobs', 'sha256', lying.digest.slice(7));
    writeFileSync(blobFile, data.bytes);
    const dest2 = join(tmp.path, 'bad2.bin');
    expect(await codeOf(downloadBlob(store, lying, dest2))).toBe('E_DIGEST');
    expect(existsSync(`${dest2}.partial`) || existsSync(dest2)).toBe(false);
  });
});

describe('readDockerCredentials', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  const write = (name: string, content: string): string => {
    const path = join(tmp.path, name);
    writeFileSync(path, content);
    return path;
  };

  it('reads inline auth, username/password entries, and Docker Hub under its index URL', () => {
    const path = write(
      'ok.json',
      JSON.stringify({
        auths: {
          'reg.example:5000': { auth: Buffer.from('u:p:with:colons').toString('base64') },
          'https://other.example': { username: 'x', password: 'y' },
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
        },
      }),
    );
    expect(readDockerCredentials('reg.example:5000', path)).toEqual({
      username: 'u',
      password: 'p:with:colons',
    });
    expect(readDockerCredentials('other.example', path)).toEqual({ username: 'x', password: 'y' });
    expect(readDockerCredentials('registry-1.docker.io', path)).toEqual({ username: 'hub', password: 'pw' });
    expect(readDockerCredentials('unknown.example', path)).toBeUndefined();
    expect(readDockerCredentials('reg.example:5000', join(tmp.path, 'absent.json'))).toBeUndefined();
  });

  it('refuses malformed files with E_CONFIG', async () => {
    expect(await codeOf(() => readDockerCredentials('r', write('bad.json', '{')))).toBe('E_CONFIG');
    const noColon = write(
      'nocolon.json',
      JSON.stringify({ auths: { r: { auth: Buffer.from('nocolon').toString('base64') } } }),
    );
    expect(await codeOf(() => readDockerCredentials('r', noColon))).toBe('E_CONFIG');
  });
});
