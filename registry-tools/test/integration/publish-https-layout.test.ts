import { createReadStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:https';
import { join, normalize } from 'node:path';
import { OciLayoutStore } from '../../src/layout/oci-layout-store';
import { openStore } from '../../src/open-store';
import { copyImage, inspectImage, signImage, verifyImage } from '../../src/publish';
import { makeCa, makeServerCert } from '../../../test/support/test-certs';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { buildTestImage, makeKey } from '../publish/fixtures';

/** A static HTTPS file server of the test's own: the S3 bucket of HIP3's "minerhaul over S3". */
async function serveStatic(
  root: string,
  certPath: string,
  keyPath: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer(
    { cert: readFileSync(certPath), key: readFileSync(keyPath) },
    (req, res) => {
      const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname)));
      let size = -1;
      try {
        if (path.startsWith(root)) size = statSync(path).size;
      } catch {
        size = -1;
      }
      if (size < 0) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
      if (req.method === 'HEAD') res.end();
      else createReadStream(path).pipe(res);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('publishing through a static HTTPS layout (no registry)', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let site: { url: string; stop(): Promise<void> };
  let caCert: string;
  const alice = makeKey();

  beforeAll(async () => {
    tmp = makeTmpDir();
    mkdirSync(join(tmp.path, 'certs'));
    const ca = makeCa(join(tmp.path, 'certs'));
    const cert = makeServerCert(join(tmp.path, 'certs'), ca);
    caCert = ca.caCertPath;
    mkdirSync(join(tmp.path, 'www'));
    site = await serveStatic(join(tmp.path, 'www'), cert.certPath, cert.keyPath);
  });
  afterAll(async () => {
    await site?.stop();
    tmp?.cleanup();
  });

  describe('when a signed layout is uploaded as static files', () => {
    it('verifies, inspects and copies from the HTTPS URL with the signatures', async () => {
      // The maintainer builds and signs in a layout named after the public identity, then uploads it.
      const identity = 'updates.example.org/acme/miner';
      const layout = new OciLayoutStore(join(tmp.path, 'www', 'miner'), identity);
      const built = await buildTestImage(layout, tmp.path, '1.0.0', 'stable');
      await signImage(layout, { reference: 'stable', secretKey: alice.secret });

      const remote = openStore(`${site.url}/miner:stable`, { caCert, identity });
      const verified = await verifyImage(remote, { reference: 'stable', trustedKeys: [alice.public] });
      expect(verified.subject.digest).toBe(built.index.digest);
      expect((await inspectImage(remote, 'stable')).signatures).toHaveLength(1);

      const usb = new OciLayoutStore(join(tmp.path, 'usb'), identity);
      const copied = await copyImage(remote, usb, { reference: 'stable', tag: 'stable' });
      expect(copied.referrers).toBe(1);
      expect(
        (await verifyImage(usb, { reference: 'stable', trustedKeys: [alice.public] })).statement.version,
      ).toBe('1.0.0');
    });
  });
});
