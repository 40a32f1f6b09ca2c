import { isMinerhaulError } from '@minerhaul/signing';
import {
  EMPTY_DESCRIPTOR,
  MAX_MANIFEST_BYTES,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  digestOf,
  parseManifest,
} from '@minerhaul/registry-tools';
import { thrownCode as codeOf } from '../../../test/support/error-code';

const layer = {
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  digest: `sha256:${'b'.repeat(64)}`,
  size: 10,
};
const manifest = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPE_OCI_MANIFEST,
  config: EMPTY_DESCRIPTOR,
  layers: [layer],
};
const bytes = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));

describe('parseManifest', () => {
  describe('when the document is valid', () => {
    it('parses an OCI manifest and an index', () => {
      const parsed = parseManifest(bytes(manifest), MEDIA_TYPE_OCI_MANIFEST);
      expect(parsed.kind).toBe('manifest');
      const idx = parseManifest(
        bytes({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [] }),
        `${MEDIA_TYPE_OCI_INDEX}; charset=utf-8`,
      );
      expect(idx.kind).toBe('index');
    });

    it('takes the media type from Content-Type when the document has none (Docker schema 2 style)', () => {
      const { mediaType: _m, ...bare } = manifest;
      expect(parseManifest(bytes(bare), MEDIA_TYPE_DOCKER_MANIFEST).mediaType).toBe(
        MEDIA_TYPE_DOCKER_MANIFEST,
      );
    });

    it('computes digests over the exact bytes', () => {
      expect(digestOf(Buffer.from('{}'))).toBe(EMPTY_DESCRIPTOR.digest);
    });
  });

  describe('when the document is hostile or broken', () => {
    it.each([
      ['not JSON', Buffer.from('{nope')],
      ['an array', bytes([1])],
      ['ambiguous (manifests + layers)', bytes({ ...manifest, manifests: [] })],
      [
        'schema 1',
        bytes({ schemaVersion: 1, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }),
      ],
      ['a negative size', bytes({ ...manifest, layers: [{ ...layer, size: -1 }] })],
      ['a bad digest', bytes({ ...manifest, layers: [{ ...layer, digest: 'sha256' }] })],
      [
        'no layers array',
        bytes({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_MANIFEST, config: EMPTY_DESCRIPTOR }),
      ],
      ['over 4 MiB', Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20)],
    ])('refuses %s with E_REGISTRY', (_what, input) => {
      expect(codeOf(() => parseManifest(input, undefined))).toBe('E_REGISTRY');
    });

    it('refuses a mediaType that contradicts Content-Type', () => {
      expect(codeOf(() => parseManifest(bytes(manifest), MEDIA_TYPE_OCI_INDEX))).toBe('E_REGISTRY');
    });

    it('reports every schema failure with its JSON path', () => {
      let details: Record<string, unknown> | undefined;
      try {
        parseManifest(bytes({ ...manifest, schemaVersion: 3, layers: [{ ...layer, size: 'x' }] }), undefined);
      } catch (err) {
        details = isMinerhaulError(err) ? err.details : undefined;
      }
      const errors = details?.errors as string[];
      expect(errors.some((e) => e.startsWith('/schemaVersion'))).toBe(true);
      expect(errors.some((e) => e.startsWith('/layers/0/size'))).toBe(true);
    });
  });
});
