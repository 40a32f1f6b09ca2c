import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { isMinerhaulError } from '@minerhaul/signing';
import { dockerArchiveStream, type ImageBlob } from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';

function blob(bytes: Buffer): ImageBlob & { bytes: Buffer } {
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, bytes };
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('dockerArchiveStream', () => {
  const tmp = makeTmpDir('minerhaul-archive-');
  afterAll(() => tmp.cleanup());
  const config = blob(Buffer.from('{"rootfs":{}}'));
  const layerA = blob(Buffer.alloc(700, 1));
  const layerB = blob(Buffer.alloc(512, 2));
  const byDigest = new Map([config, layerA, layerB].map((b) => [b.digest, b.bytes]));
  const open = async (b: ImageBlob): Promise<Readable> => Readable.from([byDigest.get(b.digest) as Buffer]);

  it('writes a docker-archive that GNU tar reads, each repeated layer once', async () => {
    const archive = await collect(dockerArchiveStream({ config, layers: [layerA, layerB, layerA] }, open));
    const path = join(tmp.path, 'image.tar');
    writeFileSync(path, archive);
    const names = execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n');
    const hex = (b: ImageBlob): string => b.digest.slice(7);
    expect(names).toEqual([
      'manifest.json',
      `${hex(config)}.json`,
      `${hex(layerA)}/`,
      `${hex(layerA)}/layer.tar`,
      `${hex(layerB)}/`,
      `${hex(layerB)}/layer.tar`,
    ]);
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', path, 'manifest.json'], { encoding: 'utf8' }));
    expect(manifest[0].Layers).toEqual([
      `${hex(layerA)}/layer.tar`,
      `${hex(layerB)}/layer.tar`,
      `${hex(layerA)}/layer.tar`,
    ]);
    const extracted = execFileSync('tar', ['-xOf', path, `${hex(layerA)}/layer.tar`]);
    expect(extracted.equals(layerA.bytes)).toBe(true);
  });

  it('refuses a blob longer than declared with E_DIGEST', async () => {
    const lying = { ...layerA, size: 100 };
    const err = await collect(dockerArchiveStream({ config, layers: [lying] }, open)).catch(
      (e: unknown) => e,
    );
    expect(isMinerhaulError(err, 'E_DIGEST')).toBe(true);
  });

  it('refuses a digest that is not sha256 with E_DIGEST', async () => {
    const err = await collect(
      dockerArchiveStream({ config: { digest: 'md5:abc', size: 1 }, layers: [] }, open),
    ).catch((e: unknown) => e);
    expect(isMinerhaulError(err, 'E_DIGEST')).toBe(true);
  });
});
