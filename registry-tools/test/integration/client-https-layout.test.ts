import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join, normalize } from 'node:path';
import { OciLayoutStore, downloadBlob, openStore, type ImageStore } from '@minerhaul/registry-tools';
import { makeCa, makeServerCert, type TestCa, type TestCert } from '../../../test/support/test-certs';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { codeOf, makeImage, makeReferrer, pushImage, readAll } from '../client/test-image';

/** A static HTTPS file server of the test's own (an S3 bucket stand-in), with Range support. */
async function serveStatic(root: string, cert: TestCert, cutFirstBlobAt?: number) {
  const ranges: string[] = [];
  let cut = cutFirstBlobAt;
  const server: Server = createServer(
    { cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) },
    (req, res) => {
      const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname)));
      if (!path.startsWith(root)) {
        res.writeHead(403).end();
        return;
      }
      let size: number;
      try {
        size = statSync(path).size;
      } catch {
        res.writeHead(404).end();
        return;
      }
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range) ranges.push(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, {
        'content-type': 'application/octet-stream',
        'content-length': String(size - start),
        ...(range ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}),
      });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (cut !== undefined && path.includes('/blobs/') && size > cut) {
        // Send the first `cut` bytes, give the client time to store them, then drop the connection.
        const part = readFileSync(path).subarray(start, cut);
        cut = undefined;
        res.write(part, () => setTimeout(() => res.socket?.destroy(), 200));
        return;
      }
      createReadStream(path, { start }).pipe(res);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    ranges,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('OCI layout served as static files over HTTPS', () => {
  const tmp = makeTmpDir();
  let ca: TestCa;
  let cert: TestCert;
  let server: Awaited<ReturnType<typeof serveStatic>>;
  const image = makeImage({ 'opt/miner/big.bin': randomBytes(64 * 1024) });
  let store: ImageStore;

  beforeAll(async () => {
    ca = makeCa(tmp.path);
    cert = makeServerCert(tmp.path, ca);
    const layout = new OciLayoutStore(join(tmp.path, 'www', 'bucket', 'miner'));
    const subject = await pushImage(layout, image, 'stable');
    await pushImage(layout, makeReferrer(subject, '{"statement":1}'));
    server = await serveStatic(join(tmp.path, 'www'), cert, 1000);
    store = openStore(`${server.url}/bucket/miner:stable`, { caCert: ca.caCertPath });
  });
  afterAll(async () => {
    await server.stop();
    tmp.cleanup();
  });

  describe('when the server is trusted', () => {
    it('resolves tags from index.json and reads manifests, referrers and blobs, verified', async () => {
      expect(await store.resolve('stable')).toEqual(image.descriptor);
      expect((await store.getManifest('stable'))?.bytes.equals(image.manifest)).toBe(true);
      expect(await store.listTags()).toContain('stable');
      const referrers = await store.listReferrers(image.descriptor.digest);
      expect(referrers.map((d) => d.artifactType)).toEqual(['application/vnd.minerhaul.release.v1+json']);
      const config = image.blobs[0]!;
      expect((await readAll(await store.openBlob(config.descriptor))).equals(config.bytes)).toBe(true);
      expect(await store.resolve('missing')).toBeUndefined();
    });

    it('resumes an interrupted blob download with Range', async () => {
      const layer = image.blobs[1]!;
      const dest = join(tmp.path, 'layer.tgz');
      await downloadBlob(store, layer.descriptor, dest);
      expect(readFileSync(dest).equals(layer.bytes)).toBe(true);
      expect(server.ranges).toEqual(['bytes=1000-']);
    });

    it('works with the server certificate pinned', async () => {
      const pinned = openStore(`${server.url}/bucket/miner`, { pinnedCert: cert.certPath });
      expect((await pinned.resolve('stable'))?.digest).toBe(image.descriptor.digest);
    });

    it('is read-only (E_CONFIG)', async () => {
      expect(await codeOf(store.putManifest(image.manifest, image.descriptor.mediaType, 'x'))).toBe(
        'E_CONFIG',
      );
    });
  });

  describe('when the certificate is not trusted', () => {
    it('refuses with E_TLS without a CA, with another pin, and E_NOT_FOUND when there is no layout', async () => {
      expect(await codeOf(openStore(`${server.url}/bucket/miner`).resolve('stable'))).toBe('E_TLS');
      mkdirSync(join(tmp.path, 'other'));
      const otherCa = makeCa(join(tmp.path, 'other'), 'other CA');
      const wrongPin = openStore(`${server.url}/bucket/miner`, { pinnedCert: otherCa.caCertPath });
      expect(await codeOf(wrongPin.resolve('stable'))).toBe('E_TLS');
      const nowhere = openStore(`${server.url}/bucket/none`, { caCert: ca.caCertPath });
      expect(await codeOf(nowhere.resolve('stable'))).toBe('E_NOT_FOUND');
    });
  });
});
