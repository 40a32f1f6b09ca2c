import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OciLayoutStore } from '@minerhaul/registry-tools';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  type BlobLoadStagerOptions,
  blobLoadStager,
  blobStoreStager,
  hostPlatform,
  type PlatformManifest,
  type ReleaseRecord,
  selectPlatformManifest,
} from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { publishRelease } from './release-fixtures';

let tmp: { path: string; cleanup: () => void };
let source: OciLayoutStore;
beforeEach(() => {
  tmp = makeTmpDir('stager-');
  source = new OciLayoutStore(join(tmp.path, 'layout'));
});
afterEach(() => tmp.cleanup());

async function image(version: string): Promise<{ target: ReleaseRecord; manifest: PlatformManifest }> {
  const built = await publishRelease(source, {
    version,
    tag: version,
    files: { 'bin/miner': { content: `#!/bin/sh\necho ${version}\n`, mode: 0o755 } },
    common: { 'share/common.txt': 'same in every version\n' },
  });
  const manifest = await selectPlatformManifest(source, built.index.digest, hostPlatform());
  const target: ReleaseRecord = {
    digest: built.index.digest,
    manifestDigest: manifest.manifestDigest,
    version,
    sequence: 1,
    repository: source.repository,
    channel: 'stable',
  };
  return { target, manifest };
}

/** Flips the last byte of the image's last layer in the source layout; returns that layer. */
async function corruptLastLayer(manifest: PlatformManifest): Promise<{ digest: string }> {
  const layer = manifest.layers[manifest.layers.length - 1];
  if (layer === undefined) throw new Error('no layer');
  const path = join(tmp.path, 'layout', 'blobs', 'sha256', layer.digest.slice(7));
  const bytes = await readFile(path);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
  await writeFile(path, bytes);
  return layer;
}

describe('blobStoreStager', () => {
  it('unpacks the release and then holds every blob of it', async () => {
    const stager = blobStoreStager({ stateDir: join(tmp.path, 'state'), mode: 'slim' });
    const { target, manifest } = await image('1.0.0');
    const all = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
    expect(await stager.held(all)).toEqual(new Set());
    const staged = await stager.stage({ store: source, target, manifest });
    expect(staged.bubblewrap?.mode).toBe('slim');
    expect(staged.config.entrypoint).toEqual(['/opt/miner/bin/miner']);
    expect(
      await readFile(join(staged.bubblewrap?.releaseDir ?? '', 'opt/miner/bin/miner'), 'utf8'),
    ).toContain('1.0.0');
    expect(await stager.held(all)).toEqual(new Set(all));
    expect(staged.blobs).toEqual(all);
  });

  it('garbage-collects every release and blob not kept, and discards a staged release', async () => {
    const stateDir = join(tmp.path, 'state');
    const stager = blobStoreStager({ stateDir, mode: 'slim' });
    const a = await image('1.0.0');
    const b = await image('2.0.0');
    const c = await image('3.0.0');
    const sa = await stager.stage({ store: source, ...a });
    const sb = await stager.stage({ store: source, ...b });
    const sc = await stager.stage({ store: source, ...c });
    await stager.gc([sc, sb]);
    expect((await readdir(join(stateDir, 'releases'))).sort()).toEqual(
      [sb, sc].map((s) => s.manifestDigest.slice(7)).sort(),
    );
    const shared = sa.blobs.filter((d) => sc.blobs.includes(d));
    expect(shared).toHaveLength(1);
    expect(await stager.held(sa.blobs)).toEqual(new Set(shared));
    await stager.discard(sb.manifestDigest);
    expect(await readdir(join(stateDir, 'releases'))).toEqual([sc.manifestDigest.slice(7)]);
  });

  it('refuses a corrupted layer and leaves neither a release nor the blob', async () => {
    const stateDir = join(tmp.path, 'state');
    const stager = blobStoreStager({ stateDir, mode: 'slim' });
    const { target, manifest } = await image('1.0.0');
    const layer = await corruptLastLayer(manifest);
    // One streaming pass: gzip's own CRC may notice before the digest does (E_UNSAFE_ARCHIVE), else E_DIGEST.
    const err = await stager.stage({ store: source, target, manifest }).catch((e: unknown) => e);
    expect(['E_DIGEST', 'E_UNSAFE_ARCHIVE']).toContain((err as { code?: string }).code);
    expect(await readdir(join(stateDir, 'releases')).catch(() => [])).toEqual([]);
    expect(await stager.held([layer.digest])).toEqual(new Set());
  });

  it('refuses a config whose diff_ids do not pair with the layers (E_REGISTRY)', async () => {
    const stager = blobStoreStager({ stateDir: join(tmp.path, 'state'), mode: 'full' });
    const { target, manifest } = await image('1.0.0');
    const truncated = { ...manifest, layers: manifest.layers.slice(1) };
    await expect(stager.stage({ store: source, target, manifest: truncated })).rejects.toMatchObject({
      code: 'E_REGISTRY',
    });
  });
});

describe('blobLoadStager', () => {
  /** A loader standing in for the Engine: it reads each blob from the store and checks its digest. */
  function recordingLoader(): { load: BlobLoadStagerOptions['load']; loaded: string[][] } {
    const loaded: string[][] = [];
    return {
      loaded,
      load: async (img, open) => {
        const seen: string[] = [];
        for (const blob of [img.config, ...img.layers]) {
          const hash = createHash('sha256');
          for await (const chunk of (await open(blob)) as Readable) hash.update(chunk as Buffer);
          expect(`sha256:${hash.digest('hex')}`).toBe(blob.digest);
          seen.push(blob.digest);
        }
        loaded.push(seen);
        return `sha256:${img.config.digest.slice(7)}`;
      },
    };
  }

  it('fetches every blob into the store, loads the image from there and records its id', async () => {
    const loader = recordingLoader();
    const stager = blobLoadStager({ stateDir: join(tmp.path, 'state'), load: loader.load });
    const { target, manifest } = await image('1.0.0');
    const all = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
    const staged = await stager.stage({ store: source, target, manifest });
    expect(loader.loaded).toEqual([all]);
    expect(staged.docker).toEqual({
      imageRef: `sha256:${manifest.config.digest.slice(7)}`,
      layerBytes: manifest.layers.reduce((sum, l) => sum + l.size, 0),
    });
    expect(staged.config.entrypoint).toEqual(['/opt/miner/bin/miner']);
    expect(await stager.held(all)).toEqual(new Set(all));
  });

  it('never hands the Engine a layer that does not match its digest', async () => {
    const loader = recordingLoader();
    const stager = blobLoadStager({ stateDir: join(tmp.path, 'state'), load: loader.load });
    const { target, manifest } = await image('1.0.0');
    const layer = await corruptLastLayer(manifest);
    await expect(stager.stage({ store: source, target, manifest })).rejects.toMatchObject({
      code: 'E_DIGEST',
    });
    expect(loader.loaded).toEqual([]);
    expect(await stager.held([layer.digest])).toEqual(new Set());
  });

  it('garbage-collects the blobs no kept release references', async () => {
    const stager = blobLoadStager({ stateDir: join(tmp.path, 'state'), load: recordingLoader().load });
    const [a, b, c] = [await image('1.0.0'), await image('2.0.0'), await image('3.0.0')];
    const sa = await stager.stage({ store: source, ...a });
    const sb = await stager.stage({ store: source, ...b });
    const sc = await stager.stage({ store: source, ...c });
    await stager.gc([sc, sb]);
    const shared = sa.blobs.filter((d) => sc.blobs.includes(d));
    expect(shared).toHaveLength(1);
    expect(await stager.held(sa.blobs)).toEqual(new Set(shared));
    expect(await stager.held(sb.blobs)).toEqual(new Set(sb.blobs));
  });
});
