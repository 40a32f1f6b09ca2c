import { isMinerhaulError } from '@minerhaul/signing';
import { formatReference, isLoopbackHost, parseReference, referenceTarget } from '@minerhaul/registry-tools';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  describe('when given registry references', () => {
    it.each([
      ['127.0.0.1:5000/miner:1.2', { registry: '127.0.0.1:5000', repository: 'miner', tag: '1.2' }],
      ['ghcr.io/org/miner', { registry: 'ghcr.io', repository: 'org/miner', tag: undefined }],
      ['localhost/a/b/c:x_y', { registry: 'localhost', repository: 'a/b/c', tag: 'x_y' }],
      ['[::1]:5000/m:v', { registry: '[::1]:5000', repository: 'm', tag: 'v', identity: '[::1]:5000/m' }],
      [`reg.example:443/m@${DIGEST}`, { registry: 'reg.example:443', repository: 'm', digest: DIGEST }],
      [`reg.example/m:t@${DIGEST}`, { registry: 'reg.example', repository: 'm', tag: 't', digest: DIGEST }],
    ])('parses %s', (input, expected) => {
      expect(parseReference(input)).toMatchObject({ kind: 'registry', ...expected });
    });

    it('maps Docker Hub short names to registry-1.docker.io/library', () => {
      expect(parseReference('busybox:1.36')).toEqual({
        kind: 'registry',
        registry: 'registry-1.docker.io',
        repository: 'library/busybox',
        tag: '1.36',
        digest: undefined,
        identity: 'docker.io/library/busybox',
      });
      expect(parseReference('docker.io/helium/miner')).toMatchObject({
        registry: 'registry-1.docker.io',
        repository: 'helium/miner',
        identity: 'docker.io/helium/miner',
      });
    });

    it('round-trips through formatReference', () => {
      const text = `127.0.0.1:5000/a/b:v1@${DIGEST}`;
      expect(formatReference(parseReference(text))).toBe(text);
      expect(referenceTarget(parseReference(text))).toBe(DIGEST);
      expect(referenceTarget(parseReference('127.0.0.1:5000/a'))).toBe('latest');
    });
  });

  describe('when given layouts', () => {
    it('parses oci-layout:DIR[:TAG] with absolute and relative directories', () => {
      expect(parseReference('oci-layout:/srv/bundle:v2')).toMatchObject({
        kind: 'oci-layout',
        dir: '/srv/bundle',
        tag: 'v2',
      });
      const rel = parseReference('oci-layout:out');
      expect(rel).toMatchObject({ kind: 'oci-layout', tag: undefined });
      expect(rel.kind === 'oci-layout' && rel.dir.startsWith('/')).toBe(true);
      expect(parseReference(`oci-layout:/x@${DIGEST}`)).toMatchObject({ dir: '/x', digest: DIGEST });
    });

    it('parses https://HOST/PATH/LAYOUT[:TAG] keeping the port', () => {
      expect(parseReference('https://cdn.example:8443/bucket/miner:stable')).toMatchObject({
        kind: 'https-layout',
        url: 'https://cdn.example:8443/bucket/miner',
        tag: 'stable',
        identity: 'cdn.example:8443/bucket/miner',
      });
      expect(parseReference('https://cdn.example/bucket/miner')).toMatchObject({ tag: undefined });
    });
  });

  describe('when the reference is malformed', () => {
    it.each([
      '',
      ' busybox',
      'Reg.example/UPPER:tag',
      'reg.example/m:bad tag',
      'reg.example/m:-leading',
      'reg.example/m@sha256:ABC',
      `reg.example/m@md5:${'a'.repeat(32)}`,
      'oci-layout:',
      'https://host/path?x=1',
      `reg.example/${'a'.repeat(260)}`,
    ])('refuses %j with E_CONFIG', (input) => {
      let caught: unknown;
      try {
        parseReference(input);
      } catch (err) {
        caught = err;
      }
      expect(isMinerhaulError(caught, 'E_CONFIG')).toBe(true);
    });
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['localhost:80', true],
    ['[::1]:5000', true],
    ['10.0.0.1:5000', false],
    ['registry.example', false],
    ['127.0.0.1.evil.example', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
