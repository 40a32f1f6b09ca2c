import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  MEDIA_TYPE_OCI_MANIFEST,
  OciLayoutStore,
  downloadBlob,
  openStore,
  type ImageStore,
} from '@minerhaul/registry-tools';
import {
  startBlobMirror,
  startLyingProxy,
  type BlobMirror,
  type LyingProxy,
} from '../../../test/support/lying-proxy';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { blob, codeOf, makeImage, pushImage, readAll, type TestImage } from '../client/test-image';

const noDockerConfig = { dockerConfigPath: '/nonexistent/docker-config.json' };

describe('registry client against a lying registry', () => {
  let registry: RunningRegistry;
  let proxy: LyingProxy;
  let image: TestImage;
  let other: TestImage;
  const sleeps: number[] = [];
  const tmp = makeTmpDir();
  const store = (): ImageStore =>
    openStore(`${proxy.host}/miner`, {
      ...noDockerConfig,
      retry: { attempts: 3, baseDelayMs: 5 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
  const bigLayer = blob(randomBytes(3 * 1024 * 1024), 'application/vnd.oci.image.layer.v1.tar');

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startLyingProxy(registry.url);
    const direct = openStore(`${registry.host}/miner`, noDockerConfig);
    image = makeImage({ h: 'honest' });
    other = makeImage({ h: 'other' });
    await pushImage(direct, image, 'v1');
    await pushImage(direct, other, 'v2');
    await direct.putBlob(bigLayer.descriptor, () => Readable.from([bigLayer.bytes]));
  });
  afterAll(async () => {
    await proxy.stop();
    await registry.stop();
    tmp.cleanup();
  });
  beforeEach(() => {
    proxy.behave({ kind: 'pass' });
    proxy.requests.length = 0;
    sleeps.length = 0;
  });

  describe('when a blob is corrupted', () => {
    it('fails the stream with E_DIGEST and keeps nothing on disk', async () => {
      proxy.behave({ kind: 'corrupt-blob' });
      const layer = image.blobs[1]!;
      expect(await codeOf(readAll(await store().openBlob(layer.descriptor)))).toBe('E_DIGEST');
      const dest = join(tmp.path, 'corrupt.tgz');
      expect(await codeOf(downloadBlob(store(), layer.descriptor, dest))).toBe('E_DIGEST');
      expect(existsSync(dest) || existsSync(`${dest}.partial`)).toBe(false);
      const layout = new OciLayoutStore(join(tmp.path, 'layout-corrupt'));
      expect(await codeOf(layout.putBlob(layer.descriptor, () => store().openBlob(layer.descriptor)))).toBe(
        'E_DIGEST',
      );
      expect(await layout.hasBlob(layer.descriptor)).toBe(false);
      const blobDir = join(tmp.path, 'layout-corrupt', 'blobs', 'sha256');
      expect(existsSync(blobDir) ? readdirSync(blobDir) : []).toEqual([]);
    });
  });

  describe('when a blob response is truncated', () => {
    it('fails with E_DIGEST and keeps nothing', async () => {
      proxy.behave({ kind: 'truncate-blob' });
      const dest = join(tmp.path, 'truncated.bin');
      expect(await codeOf(downloadBlob(store(), bigLayer.descriptor, dest))).toBe('E_DIGEST');
      expect(existsSync(dest) || existsSync(`${dest}.partial`)).toBe(false);
    });
  });

  describe('when the connection drops in the middle of a blob', () => {
    it('resumes with a Range request and verifies the whole blob', async () => {
      proxy.behave({ kind: 'cut-blob-once', afterBytes: 1024 * 1024 });
      const dest = join(tmp.path, 'resumed.bin');
      await downloadBlob(store(), bigLayer.descriptor, dest);
      expect(readFileSync(dest).equals(bigLayer.bytes)).toBe(true);
      const ranges = proxy.requests.filter((r) => r.range !== undefined).map((r) => r.range);
      expect(ranges).toHaveLength(1);
      expect(Number(/^bytes=(\d+)-$/.exec(ranges[0] ?? '')?.[1])).toBeGreaterThan(0);
    });
  });

  describe('when a manifest for another digest is served', () => {
    it('refuses it with E_DIGEST, by digest and by tag', async () => {
      proxy.behave({
        kind: 'substitute-manifest',
        bytes: other.manifest,
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
      });
      expect(await codeOf(store().getManifest(image.descriptor.digest))).toBe('E_DIGEST');
      expect(await codeOf(store().getManifest('v1'))).toBe('E_DIGEST');
    });
  });

  describe('when the registry answers 429 and 503 with Retry-After', () => {
    it('honours Retry-After and succeeds within the attempt budget', async () => {
      proxy.behave({ kind: 'fail', status: 429, times: 2, retryAfter: '1' });
      expect((await store().resolve('v1'))?.digest).toBe(image.descriptor.digest);
      expect(sleeps).toEqual([1000, 1000]);
    });

    it('gives up with E_REGISTRY when failures outlast the attempts', async () => {
      proxy.behave({ kind: 'fail', status: 503, times: 10 });
      expect(await codeOf(store().resolve('v1'))).toBe('E_REGISTRY');
      expect(proxy.requests).toHaveLength(3);
      expect(sleeps).toHaveLength(2);
    });
  });
});

describe('registry client following a blob redirect to another origin', () => {
  let registry: RunningRegistry;
  let proxy: LyingProxy;
  let mirror: BlobMirror;
  const basic = `Basic ${Buffer.from('maint:right-pass').toString('base64')}`;

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { maint: 'right-pass' } });
    proxy = await startLyingProxy(registry.url);
    mirror = await startBlobMirror(registry.url, basic);
  });
  afterAll(async () => {
    await mirror.stop();
    await proxy.stop();
    await registry.stop();
  });

  it('follows the redirect and never sends Authorization to the other origin', async () => {
    const store = openStore(`${proxy.host}/private`, {
      ...noDockerConfig,
      credentials: { username: 'maint', password: 'right-pass' },
    });
    const image = makeImage({ i: 'redirected' });
    await pushImage(store, image, 'v1');
    proxy.behave({ kind: 'redirect-blobs', origin: mirror.url });
    const layer = image.blobs[1]!;
    expect((await readAll(await store.openBlob(layer.descriptor))).equals(layer.bytes)).toBe(true);
    expect(mirror.authorizations).toEqual([undefined]);
    expect(proxy.requests.some((r) => r.authorization === basic)).toBe(true);
  });
});
