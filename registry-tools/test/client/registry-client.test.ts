import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MinerhaulError, isMinerhaulError } from '@minerhaul/signing';
import {
  EMPTY_DESCRIPTOR,
  MEDIA_TYPE_OCI_MANIFEST,
  digestOf,
  openStore,
  type ImageStore,
} from '@minerhaul/registry-tools';
import { rejectedCode as codeOf } from '../../../test/support/error-code';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A tiny scripted registry: each test installs its own handler. */
async function scripted(): Promise<{ host: string; use(h: Handler): void; stop(): Promise<void> }> {
  let handler: Handler = (_req, res) => res.writeHead(500).end();
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    use: (h) => (handler = h),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const manifestBytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    config: EMPTY_DESCRIPTOR,
    layers: [],
  }),
);
const manifestDigest = digestOf(manifestBytes);

describe('registry client', () => {
  let server: Awaited<ReturnType<typeof scripted>>;
  const sleeps: number[] = [];
  let store: ImageStore;

  beforeAll(async () => {
    server = await scripted();
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    sleeps.length = 0;
    store = openStore(`${server.host}/miner:1`, {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      retry: { attempts: 3, baseDelayMs: 10 },
      dockerConfigPath: '/nonexistent/config.json',
    });
  });

  describe('when the registry answers 429/503 with Retry-After', () => {
    it('waits as told and retries a bounded number of times', async () => {
      let calls = 0;
      server.use((_req, res) => {
        calls++;
        if (calls <= 2) {
          res.writeHead(calls === 1 ? 429 : 503, { 'retry-after': '2' }).end();
          return;
        }
        res
          .writeHead(200, {
            'content-type': MEDIA_TYPE_OCI_MANIFEST,
            'docker-content-digest': manifestDigest,
            'content-length': String(manifestBytes.length),
          })
          .end();
      });
      await expect(store.resolve('1')).resolves.toEqual({
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
        digest: manifestDigest,
        size: manifestBytes.length,
      });
      expect(sleeps).toEqual([2000, 2000]);
    });

    it('gives up with E_REGISTRY after the last attempt', async () => {
      let calls = 0;
      server.use((_req, res) => {
        calls++;
        res.writeHead(503).end();
      });
      expect(await codeOf(store.resolve('1'))).toBe('E_REGISTRY');
      expect(calls).toBe(3);
      expect(sleeps).toHaveLength(2);
    });
  });

  describe('when a manifest is requested', () => {
    it('sends the same Accept list on HEAD and GET', async () => {
      const accepts: (string | undefined)[] = [];
      server.use((req, res) => {
        accepts.push(req.headers.accept);
        res.writeHead(200, {
          'content-type': MEDIA_TYPE_OCI_MANIFEST,
          'docker-content-digest': manifestDigest,
        });
        res.end(req.method === 'GET' ? manifestBytes : undefined);
      });
      await store.resolve('1');
      await store.getManifest('1');
      expect(accepts[0]).toContain('application/vnd.oci.image.index.v1+json');
      expect(accepts[0]).toContain('application/vnd.docker.distribution.manifest.v2+json');
      expect(accepts[1]).toBe(accepts[0]);
    });

    it('falls back to hashing the body when HEAD has no Docker-Content-Digest', async () => {
      const methods: string[] = [];
      server.use((req, res) => {
        methods.push(req.method ?? '');
        res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
        res.end(req.method === 'GET' ? manifestBytes : undefined);
      });
      expect((await store.resolve('1'))?.digest).toBe(manifestDigest);
      expect(methods).toEqual(['HEAD', 'GET']);
    });

    it('refuses a body whose digest differs from the header (E_DIGEST)', async () => {
      server.use((_req, res) => {
        res.writeHead(200, {
          'content-type': MEDIA_TYPE_OCI_MANIFEST,
          'docker-content-digest': `sha256:${'0'.repeat(64)}`,
        });
        res.end(manifestBytes);
      });
      expect(await codeOf(store.getManifest('1'))).toBe('E_DIGEST');
    });

    it('refuses manifests over 4 MiB (E_REGISTRY) without reading them whole', async () => {
      server.use((_req, res) => {
        res.writeHead(200, {
          'content-type': MEDIA_TYPE_OCI_MANIFEST,
          'content-length': String(5 * 1024 * 1024),
        });
        res.end(Buffer.alloc(5 * 1024 * 1024, 0x20));
      });
      expect(await codeOf(store.getManifest('1'))).toBe('E_REGISTRY');
    });

    it('returns undefined for 404 and E_REGISTRY for other errors', async () => {
      server.use((_req, res) => res.writeHead(404).end());
      await expect(store.resolve('nope')).resolves.toBeUndefined();
      await expect(store.getManifest('nope')).resolves.toBeUndefined();
      server.use((_req, res) => res.writeHead(400).end('{"errors":[{"code":"NAME_INVALID"}]}'));
      expect(await codeOf(store.getManifest('1'))).toBe('E_REGISTRY');
    });
  });

  describe('when the registry demands auth', () => {
    it('refuses with E_AUTH when a Basic challenge comes and no credentials are known', async () => {
      server.use((_req, res) => res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end());
      expect(await codeOf(store.resolve('1'))).toBe('E_AUTH');
    });

    it('refuses with E_AUTH on 403', async () => {
      server.use((_req, res) => res.writeHead(403).end());
      expect(await codeOf(store.resolve('1'))).toBe('E_AUTH');
    });

    it('refuses a token realm over plain HTTP on a non-loopback host', async () => {
      server.use((_req, res) =>
        res
          .writeHead(401, { 'www-authenticate': 'Bearer realm="http://auth.example/token",service="x"' })
          .end(),
      );
      expect(await codeOf(store.resolve('1'))).toBe('E_AUTH');
    });
  });

  describe('when following redirects', () => {
    it('stops after 10 hops with E_REGISTRY', async () => {
      let hops = 0;
      server.use((req, res) => {
        hops++;
        res.writeHead(302, { location: `${req.url ?? '/'}x` }).end();
      });
      expect(await codeOf(store.getManifest('1'))).toBe('E_REGISTRY');
      expect(hops).toBe(11);
    });
  });

  describe('when listing tags across pages', () => {
    it('follows Link rel="next" until the last page', async () => {
      const pages: Record<string, { tags: string[]; next?: string }> = {
        first: { tags: ['a', 'b'], next: '/v2/miner/tags/list?n=2&last=b' },
        b: { tags: ['c', 'd'], next: '/v2/miner/tags/list?n=2&last=d' },
        d: { tags: ['e'] },
      };
      server.use((req, res) => {
        const last = new URL(req.url ?? '/', 'http://x').searchParams.get('last') ?? 'first';
        const page = pages[last]!;
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(page.next ? { link: `<${page.next}>; rel="next"` } : {}),
        });
        res.end(JSON.stringify({ name: 'miner', tags: page.tags }));
      });
      expect(await store.listTags()).toEqual(['a', 'b', 'c', 'd', 'e']);
    });
  });

  describe('when the registry has the referrers API', () => {
    it('uses it, filtering client-side when the server did not', async () => {
      const subject = `sha256:${'c'.repeat(64)}`;
      const paths: string[] = [];
      server.use((req, res) => {
        paths.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        res.end(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: [
              {
                mediaType: MEDIA_TYPE_OCI_MANIFEST,
                digest: `sha256:${'1'.repeat(64)}`,
                size: 1,
                artifactType: 'a/x',
              },
              {
                mediaType: MEDIA_TYPE_OCI_MANIFEST,
                digest: `sha256:${'2'.repeat(64)}`,
                size: 1,
                artifactType: 'a/y',
              },
            ],
          }),
        );
      });
      const found = await store.listReferrers(subject, 'a/y');
      expect(found.map((d) => d.artifactType)).toEqual(['a/y']);
      expect(paths).toEqual([`/v2/miner/referrers/${subject}?artifactType=a%2Fy`]);
    });
  });

  describe('when the registry uses Bearer tokens', () => {
    it('redoes the token flow once when a cached token is refused, then gives up with E_AUTH', async () => {
      const issued: string[] = [];
      let accept = 't2';
      const realm = `http://${server.host}/token`;
      server.use((req, res) => {
        if (req.url?.startsWith('/token')) {
          const token = `t${issued.length + 1}`;
          issued.push(new URL(req.url, 'http://x').searchParams.getAll('scope').join(' '));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
          return;
        }
        if (req.headers.authorization !== `Bearer ${accept}`) {
          res
            .writeHead(401, {
              'www-authenticate': `Bearer realm="${realm}",service="svc",scope="repository:miner:pull"`,
            })
            .end();
          return;
        }
        res.writeHead(200, {
          'content-type': MEDIA_TYPE_OCI_MANIFEST,
          'docker-content-digest': manifestDigest,
          'content-length': String(manifestBytes.length),
        });
        res.end();
      });
      expect((await store.resolve('1'))?.digest).toBe(manifestDigest);
      expect(issued).toEqual(['repository:miner:pull', 'repository:miner:pull']);
      // Cached: no new token for the next request with the same scope.
      expect((await store.resolve('1'))?.digest).toBe(manifestDigest);
      expect(issued).toHaveLength(2);
      accept = 'never';
      expect(await codeOf(store.resolve('1'))).toBe('E_AUTH');
    });

    it('refuses with E_AUTH when the token server refuses', async () => {
      const realm = `http://${server.host}/token`;
      server.use((req, res) => {
        if (req.url?.startsWith('/token')) {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="svc"` }).end();
      });
      expect(await codeOf(store.resolve('1'))).toBe('E_AUTH');
    });
  });

  describe('when the registry stops answering', () => {
    it('drops the silent connection after timeoutMs and gives up with E_REGISTRY after the attempts', async () => {
      let calls = 0;
      server.use(() => {
        calls++; // never answer
      });
      const impatient = openStore(`${server.host}/miner`, {
        ...{ dockerConfigPath: '/nonexistent/config.json' },
        timeoutMs: 150,
        retry: { attempts: 2, baseDelayMs: 1 },
        sleep: async () => undefined,
      });
      const started = Date.now();
      expect(await codeOf(impatient.resolve('1'))).toBe('E_REGISTRY');
      expect(calls).toBe(2);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });

  describe('when a blob body stalls', () => {
    it('fails the stream after timeoutMs instead of hanging', async () => {
      const data = Buffer.alloc(1000, 1);
      server.use((_req, res) => {
        res.writeHead(200, { 'content-length': String(data.length) });
        res.write(data.subarray(0, 500)); // then silence
      });
      const impatient = openStore(`${server.host}/miner`, {
        dockerConfigPath: '/nonexistent/config.json',
        timeoutMs: 150,
      });
      const descriptor = { mediaType: 'application/octet-stream', digest: digestOf(data), size: data.length };
      const stream = await impatient.openBlob(descriptor);
      await expect(
        (async () => {
          for await (const _chunk of stream) void _chunk;
        })(),
      ).rejects.toThrow();
    });
  });

  describe('when choosing HTTP or HTTPS', () => {
    const schemeFor = async (
      reference: string,
      options: Parameters<typeof openStore>[1] = {},
    ): Promise<string> => {
      let seen = '';
      const store = openStore(reference, {
        dockerConfigPath: '/nonexistent/config.json',
        ...options,
        fetchImpl: async (req) => {
          seen = req.url.protocol;
          throw new MinerhaulError('E_CONFIG', 'stop here');
        },
      });
      await codeOf(store.resolve('x'));
      return seen;
    };

    it('uses plain HTTP only for loopback or --insecure without TLS options', async () => {
      expect(await schemeFor('127.0.0.1:5000/m')).toBe('http:');
      expect(await schemeFor('localhost:5000/m')).toBe('http:');
      expect(await schemeFor('registry.example/m')).toBe('https:');
      expect(await schemeFor('registry.example/m', { insecure: true })).toBe('http:');
      expect(await schemeFor('127.0.0.1:5000/m', { pinnedCert: undefined, caCert: undefined })).toBe('http:');
      expect(await schemeFor('busybox')).toBe('https:');
    });

    it('refuses plain-HTTP static layouts on other hosts without --insecure (E_CONFIG)', async () => {
      expect(await codeOf(() => openStore('http://cdn.example/bucket/miner'))).toBe('E_CONFIG');
      expect(await schemeFor('http://cdn.example/bucket/miner', { insecure: true })).toBe('http:');
    });
  });

  describe('when opening a TLS store with a bad certificate option', () => {
    it('refuses with E_CONFIG', () => {
      let code: string | undefined;
      try {
        openStore('registry.example/miner', {
          caCert: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n',
        });
      } catch (err) {
        code = isMinerhaulError(err) ? err.code : 'other';
      }
      expect(code).toBe('E_CONFIG');
    });
  });
});
