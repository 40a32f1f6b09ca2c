import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { MinerhaulError } from '@minerhaul/signing';
import { pullErrorCode, readProgressStream } from './docker-pull';

/** A blob of the verified image, by digest and size (an OCI descriptor). */
export interface ImageBlob {
  digest: string;
  size: number;
}

/** The image to load: its config blob and its layer blobs in order (gzip, zstd or plain tar). */
export interface BlobImage {
  config: ImageBlob;
  layers: ImageBlob[];
}

/** Opens a held, digest-verified blob (e.g. the blob store's `read`). */
export type OpenBlob = (blob: ImageBlob) => Promise<Readable>;

const BLOCK = 512;

/**
 * Streams a `docker load` archive (docker-archive format: `manifest.json`, the config as `<hex>.json`, each
 * layer as `<hex>/layer.tar`) built on the fly from verified blobs: nothing is fetched from a registry and no
 * layer is held in memory. The Engine decompresses the layers itself and checks them against the config's
 * diff_ids; the image id is the config digest.
 */
export function dockerArchiveStream(image: BlobImage, open: OpenBlob): Readable {
  async function* entries(): AsyncGenerator<Buffer> {
    const configHex = hexOf(image.config.digest);
    const layerNames = image.layers.map((l) => `${hexOf(l.digest)}/layer.tar`);
    const manifest = Buffer.from(
      JSON.stringify([{ Config: `${configHex}.json`, RepoTags: null, Layers: layerNames }]),
      'utf8',
    );
    yield* fileEntry('manifest.json', manifest.length, Readable.from([manifest]));
    yield* fileEntry(`${configHex}.json`, image.config.size, await open(image.config));
    const written = new Set<string>();
    for (const [i, layer] of image.layers.entries()) {
      // A layer listed twice (e.g. an empty layer) is stored once; the manifest names it twice.
      if (written.has(layer.digest)) continue;
      written.add(layer.digest);
      yield tarHeader(`${hexOf(layer.digest)}/`, 0, '5');
      yield* fileEntry(layerNames[i] as string, layer.size, await open(layer));
    }
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(entries(), { objectMode: false });
}

async function* fileEntry(name: string, size: number, data: Readable): AsyncGenerator<Buffer> {
  yield tarHeader(name, size, '0');
  let written = 0;
  for await (const chunk of data) {
    const buf = chunk as Buffer;
    written += buf.length;
    if (written > size)
      throw new MinerhaulError('E_DIGEST', `${name} is larger than its declared ${size} bytes`);
    yield buf;
  }
  if (written !== size)
    throw new MinerhaulError('E_DIGEST', `${name} has ${written} bytes, ${size} declared`);
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad > 0) yield Buffer.alloc(pad);
}

/** A POSIX ustar header (names here are short and ASCII: hex digests). */
function tarHeader(name: string, size: number, type: '0' | '5'): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'ascii');
  header.write(type === '5' ? '0000755\0' : '0000644\0', 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.write('00000000000\0', 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write(type, 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

function hexOf(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match) throw new MinerhaulError('E_DIGEST', `'${digest}' is not a sha256 digest`);
  return match[1] as string;
}

/**
 * Loads `image` into the Engine from verified blobs (`docker load`, POST /images/load) and returns its id
 * (`sha256:<config hex>`), usable as a release's `docker.imageRef`. Errors inside the response stream count.
 */
export async function loadImageFromBlobs(docker: Docker, image: BlobImage, open: OpenBlob): Promise<string> {
  const id = `sha256:${hexOf(image.config.digest)}`;
  const archive = dockerArchiveStream(image, open);
  let archiveError: unknown;
  archive.on('error', (err) => (archiveError = err));
  let response: NodeJS.ReadableStream;
  try {
    response = await docker.loadImage(archive, { quiet: true });
  } catch (err) {
    throw archiveError instanceof MinerhaulError ? archiveError : loadError(err);
  }
  const inBand = await readProgressStream(docker, response).catch((err: unknown) => {
    throw loadError(err);
  });
  if (archiveError) throw archiveError instanceof MinerhaulError ? archiveError : loadError(archiveError);
  if (inBand !== undefined) {
    throw new MinerhaulError(pullErrorCode(inBand), `docker load failed: ${inBand}`, {
      details: { inBand: true },
    });
  }
  try {
    await docker.getImage(id).inspect();
  } catch (err) {
    throw new MinerhaulError('E_RUNTIME', `docker load did not produce image ${id}`, { cause: err });
  }
  return id;
}

function loadError(err: unknown): MinerhaulError {
  const message = err instanceof Error ? err.message : String(err);
  return new MinerhaulError(pullErrorCode(message), `docker load failed: ${message}`, { cause: err });
}
