import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  EMPTY_DESCRIPTOR,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
  digestOf,
  type Descriptor,
  type ImageStore,
} from '@minerhaul/registry-tools';
import { makeTmpDir } from '../../../test/support/tmp-dir';

export interface TestBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface TestImage {
  blobs: TestBlob[];
  manifest: Buffer;
  descriptor: Descriptor;
}

export function blob(bytes: Buffer, mediaType: string): TestBlob {
  return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length }, bytes };
}

/** A gzip tar layer holding `files` (path → content), made with the system tar (owner 0, fixed mtime). */
export function tarLayer(files: Record<string, string | Buffer>): { layer: TestBlob; diffId: string } {
  const tmp = makeTmpDir('minerhaul-layer-');
  try {
    const root = join(tmp.path, 'root');
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content, { mode: 0o755 });
    }
    const tar = execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '--mtime=@0',
      '-C',
      root,
      '-cf',
      '-',
      '.',
    ]);
    return { layer: blob(gzipSync(tar), MEDIA_TYPE_OCI_LAYER_GZIP), diffId: digestOf(tar) };
  } finally {
    tmp.cleanup();
  }
}

/** A runnable-looking single-platform image: a config and one gzip tar layer. */
export function makeImage(
  files: Record<string, string | Buffer>,
  architecture = 'arm64',
  annotations?: Record<string, string>,
): TestImage {
  const { layer, diffId } = tarLayer(files);
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture,
        os: 'linux',
        config: { Entrypoint: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }),
    ),
    MEDIA_TYPE_OCI_CONFIG,
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      config: config.descriptor,
      layers: [layer.descriptor],
      ...(annotations ? { annotations } : {}),
    }),
  );
  return {
    blobs: [config, layer],
    manifest,
    descriptor: { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: digestOf(manifest), size: manifest.length },
  };
}

export function makeIndex(entries: { image: TestImage; architecture: string }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: entries.map((e) => ({
        ...e.image.descriptor,
        platform: { os: 'linux', architecture: e.architecture },
      })),
    }),
  );
}

/** A signature-like artifact whose subject is `subject` (the statement artifact shape). */
export function makeReferrer(
  subject: Descriptor,
  payload: string,
  annotations: Record<string, string> = {},
): TestImage {
  const layer = blob(Buffer.from(payload), 'application/vnd.minerhaul.statement.v1+json');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      artifactType: 'application/vnd.minerhaul.release.v1+json',
      config: EMPTY_DESCRIPTOR,
      layers: [layer.descriptor],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z', ...annotations },
    }),
  );
  return {
    blobs: [blob(Buffer.from('{}'), EMPTY_DESCRIPTOR.mediaType), layer],
    manifest,
    descriptor: { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: digestOf(manifest), size: manifest.length },
  };
}

export async function pushImage(store: ImageStore, image: TestImage, tag?: string): Promise<Descriptor> {
  for (const b of image.blobs) await store.putBlob(b.descriptor, () => Readable.from([b.bytes]));
  return store.putManifest(image.manifest, MEDIA_TYPE_OCI_MANIFEST, tag);
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Copy `reference` (index or manifest, children and blobs) from one store to another: a test's own walk. */
export async function copyAll(
  from: ImageStore,
  to: ImageStore,
  reference: string,
  tag?: string,
): Promise<Descriptor> {
  const top = await from.getManifest(reference);
  if (!top) throw new Error(`no ${reference} in ${from.location}`);
  const copyOne = async (bytes: Buffer, mediaType: string, asTag?: string): Promise<Descriptor> => {
    const doc = JSON.parse(bytes.toString('utf8')) as {
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
    };
    for (const child of doc.manifests ?? []) {
      const fetched = await from.getManifest(child.digest);
      if (!fetched) throw new Error(`missing child ${child.digest}`);
      await copyOne(fetched.bytes, fetched.descriptor.mediaType);
    }
    for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
      await to.putBlob(d, () => from.openBlob(d));
    }
    return to.putManifest(bytes, mediaType, asTag);
  };
  return copyOne(top.bytes, top.descriptor.mediaType, tag);
}

export { rejectedCode as codeOf } from '../../../test/support/error-code';
