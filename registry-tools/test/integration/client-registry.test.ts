import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import {
  MEDIA_TYPE_OCI_INDEX,
  digestOf,
  downloadBlob,
  openStore,
  parseManifest,
  resolveRequired,
  selectPlatform,
  type ImageStore,
} from '@minerhaul/registry-tools';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { blob, codeOf, makeImage, makeIndex, makeReferrer, pushImage, readAll } from '../client/test-image';

const noDockerConfig = { dockerConfigPath: '/nonexistent/docker-config.json' };

describe('registry client against docker-registry', () => {
  describe('when the registry is open', () => {
    let registry: RunningRegistry;
    let store: ImageStore;
    const tmp = makeTmpDir();

    beforeAll(async () => {
      registry = await startRegistry();
      store = openStore(`${registry.host}/miner`, noDockerConfig);
    });
    afterAll(async () => {
      await registry.stop();
      tmp.cleanup();
    });

    it('pushes an image and reads it back: HEAD resolve, manifest bytes, verified blobs', async () => {
      const image = makeImage({ 'opt/miner/run.sh': '#!/bin/sh\necho hi\n' });
      const pushed = await pushImage(store, image, 'v1');
      expect(pushed).toEqual(image.descriptor);
      expect(await store.resolve('v1')).toEqual(image.descriptor);
      expect(await store.resolve(image.descriptor.digest)).toEqual(image.descriptor);
      const fetched = await store.getManifest('v1');
      expect(fetched?.bytes.equals(image.manifest)).toBe(true);
      for (const b of image.blobs) {
        expect(await store.hasBlob(b.descriptor)).toBe(true);
        expect((await readAll(await store.openBlob(b.descriptor))).equals(b.bytes)).toBe(true);
      }
      expect(await store.listTags()).toContain('v1');
    });

    it('pushes a multi-arch index and selects the platform from it', async () => {
      const arm = makeImage({ a: 'arm64' }, 'arm64');
      const amd = makeImage({ a: 'amd64' }, 'amd64');
      await pushImage(store, arm);
      await pushImage(store, amd);
      const index = makeIndex([
        { image: amd, architecture: 'amd64' },
        { image: arm, architecture: 'arm64' },
      ]);
      const top = await store.putManifest(index, MEDIA_TYPE_OCI_INDEX, 'multi');
      expect((await store.resolve('multi'))?.mediaType).toBe(MEDIA_TYPE_OCI_INDEX);
      const fetched = await store.getManifest(top.digest);
      const parsed = parseManifest(fetched!.bytes, fetched!.descriptor.mediaType);
      if (parsed.kind !== 'index') throw new Error('expected an index');
      expect(selectPlatform(parsed.index, 'linux/arm64').digest).toBe(arm.descriptor.digest);
      expect(await codeOf(() => selectPlatform(parsed.index, 'linux/riscv64'))).toBe('E_PLATFORM');
    });

    it('answers undefined / E_NOT_FOUND for an unknown tag and blob', async () => {
      expect(await store.resolve('no-such-tag')).toBeUndefined();
      expect(await codeOf(resolveRequired(store, 'no-such-tag'))).toBe('E_NOT_FOUND');
      const missing = blob(randomBytes(16), 'application/octet-stream').descriptor;
      expect(await store.hasBlob(missing)).toBe(false);
      expect(await codeOf(store.openBlob(missing))).toBe('E_NOT_FOUND');
      const other = openStore(`${registry.host}/never-pushed`, noDockerConfig);
      expect(await other.listTags()).toEqual([]);
    });

    it('uploads large blobs in chunks and small ones monolithically', async () => {
      const chunked = openStore(`${registry.host}/chunked`, {
        ...noDockerConfig,
        chunkThreshold: 1000,
        chunkSize: 4096,
      });
      const big = blob(randomBytes(10_000 + 17), 'application/octet-stream');
      const progress: number[] = [];
      await chunked.putBlob(
        big.descriptor,
        () => Readable.from([big.bytes.subarray(0, 5000), big.bytes.subarray(5000)]),
        {
          onProgress: (e) => progress.push(e.transferred),
        },
      );
      expect((await readAll(await chunked.openBlob(big.descriptor))).equals(big.bytes)).toBe(true);
      expect(progress[progress.length - 1]).toBe(big.bytes.length);
    });

    it('refuses a chunked upload whose source is shorter than declared (E_DIGEST)', async () => {
      const chunked = openStore(`${registry.host}/chunked`, {
        ...noDockerConfig,
        chunkThreshold: 1000,
        chunkSize: 4096,
      });
      const big = blob(randomBytes(9000), 'application/octet-stream');
      expect(
        await codeOf(chunked.putBlob(big.descriptor, () => Readable.from([big.bytes.subarray(0, 6000)]))),
      ).toBe('E_DIGEST');
      expect(await chunked.hasBlob(big.descriptor)).toBe(false);
    });

    it('mounts a blob from another repository without uploading it', async () => {
      const shared = blob(randomBytes(2048), 'application/octet-stream');
      await store.putBlob(shared.descriptor, () => Readable.from([shared.bytes]));
      const target = openStore(`${registry.host}/mounted`, noDockerConfig);
      await target.putBlob(
        shared.descriptor,
        () => {
          throw new Error('the blob must be mounted, not uploaded');
        },
        { mountFrom: 'miner' },
      );
      expect(await target.hasBlob(shared.descriptor)).toBe(true);
    });

    it('skips blobs the registry already has', async () => {
      const known = blob(randomBytes(100), 'application/octet-stream');
      await store.putBlob(known.descriptor, () => Readable.from([known.bytes]));
      let opened = 0;
      await store.putBlob(known.descriptor, () => {
        opened++;
        return Readable.from([known.bytes]);
      });
      expect(opened).toBe(0);
    });

    it('stores referrers under the fallback tag and lists them (registry:2 has no referrers API)', async () => {
      const subject = await pushImage(store, makeImage({ b: 'signed' }), 'signed');
      const first = makeReferrer(subject, '{"n":1}', { 'dev.minerhaul.channel': 'stable' });
      const second = makeReferrer(subject, '{"n":2}');
      await pushImage(store, first);
      await pushImage(store, second);
      await pushImage(store, first);
      const found = await store.listReferrers(subject.digest);
      expect(found.map((d) => d.digest)).toEqual([first.descriptor.digest, second.descriptor.digest]);
      expect(found[0]?.artifactType).toBe('application/vnd.minerhaul.release.v1+json');
      expect(found[0]?.annotations?.['dev.minerhaul.channel']).toBe('stable');
      expect(await store.listReferrers(subject.digest, 'application/vnd.other')).toEqual([]);
      expect(await store.listReferrers(digestOf(Buffer.from('unsigned')))).toEqual([]);
    });

    it('downloads a blob to a file, verified', async () => {
      const image = makeImage({ c: 'download me' });
      await pushImage(store, image);
      const layer = image.blobs[1]!;
      const dest = join(tmp.path, 'layer.tgz');
      await downloadBlob(store, layer.descriptor, dest);
      expect(readFileSync(dest).equals(layer.bytes)).toBe(true);
      expect(existsSync(`${dest}.partial`)).toBe(false);
    });

    it('leaves no file behind for a blob the registry does not have (E_NOT_FOUND)', async () => {
      const missing = blob(Buffer.from('never pushed'), 'application/octet-stream');
      const dest = join(tmp.path, 'missing.bin');
      expect(await codeOf(downloadBlob(store, missing.descriptor, dest))).toBe('E_NOT_FOUND');
      expect(existsSync(dest) || existsSync(`${dest}.partial`)).toBe(false);
    });
  });

  describe('when the registry wants htpasswd Basic auth', () => {
    let registry: RunningRegistry;
    const tmp = makeTmpDir();

    beforeAll(async () => {
      registry = await startRegistry({ auth: 'htpasswd', users: { maint: 'right-pass' } });
    });
    afterAll(async () => {
      await registry.stop();
      tmp.cleanup();
    });

    it('pushes and pulls with the right credentials', async () => {
      const store = openStore(`${registry.host}/private`, {
        ...noDockerConfig,
        credentials: { username: 'maint', password: 'right-pass' },
      });
      const image = makeImage({ d: 'private' });
      await pushImage(store, image, 'v1');
      expect((await store.resolve('v1'))?.digest).toBe(image.descriptor.digest);
    });

    it('reads credentials from a docker config.json', async () => {
      const configPath = join(tmp.path, 'config.json');
      const auth = Buffer.from('maint:right-pass').toString('base64');
      writeFileSync(configPath, JSON.stringify({ auths: { [registry.host]: { auth } } }));
      const store = openStore(`${registry.host}/private`, { dockerConfigPath: configPath });
      expect(await store.resolve('v1')).toBeDefined();
    });

    it('refuses a wrong password and missing credentials with E_AUTH', async () => {
      const wrong = openStore(`${registry.host}/private`, {
        ...noDockerConfig,
        credentials: { username: 'maint', password: 'wrong' },
      });
      expect(await codeOf(wrong.resolve('v1'))).toBe('E_AUTH');
      const anonymous = openStore(`${registry.host}/private`, noDockerConfig);
      expect(await codeOf(anonymous.resolve('v1'))).toBe('E_AUTH');
    });
  });

  describe('when the registry serves TLS with a self-signed CA', () => {
    let registry: RunningRegistry;
    let otherCa: string;
    const tmp = makeTmpDir();

    beforeAll(async () => {
      registry = await startRegistry({ tls: true });
      const other = await startRegistry({ tls: true });
      otherCa = readFileSync(other.caCertPath!, 'utf8');
      await other.stop();
    });
    afterAll(async () => {
      await registry.stop();
      tmp.cleanup();
    });

    it('works with the CA file, and with the pinned server certificate', async () => {
      const viaCa = openStore(`${registry.host}/tls`, { ...noDockerConfig, caCert: registry.caCertPath });
      const image = makeImage({ e: 'tls' });
      await pushImage(viaCa, image, 'v1');
      const viaPin = openStore(`${registry.host}/tls`, {
        ...noDockerConfig,
        pinnedCert: readFileSync(registry.serverCertPath!, 'utf8'),
      });
      expect((await viaPin.resolve('v1'))?.digest).toBe(image.descriptor.digest);
    });

    it('refuses a certificate from another CA, and a pin mismatch, with E_TLS', async () => {
      const wrongCa = openStore(`${registry.host}/tls`, { ...noDockerConfig, caCert: otherCa });
      expect(await codeOf(wrongCa.resolve('v1'))).toBe('E_TLS');
      // Pinning the CA rather than the server certificate: trusted chain, wrong pin.
      const wrongPin = openStore(`${registry.host}/tls`, {
        ...noDockerConfig,
        caCert: registry.caCertPath,
        pinnedCert: registry.caCertPath,
      });
      expect(await codeOf(wrongPin.resolve('v1'))).toBe('E_TLS');
    });
  });
});
