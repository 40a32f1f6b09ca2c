import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DigestVerifier } from '@minerhaul/registry-tools';
import { BlobStore, type BlobRef, type BlobSource } from '@minerhaul/updater';
import { makeTmpDir } from '../../../test/support/tmp-dir';

let tmp: { path: string; cleanup: () => void };
beforeEach(() => {
  tmp = makeTmpDir('minerhaul-store-');
});
afterEach(() => tmp.cleanup());

function blobOf(content: Buffer): BlobRef {
  return { digest: `sha256:${createHash('sha256').update(content).digest('hex')}`, size: content.length };
}

/** A source serving `content` from the requested offset in 1 KiB chunks, recording each request. */
function sourceOf(content: Buffer, requests: number[] = [], failAfter?: number): BlobSource {
  return async (_blob, offset) => {
    requests.push(offset);
    const chunks: Buffer[] = [];
    for (let i = offset; i < content.length; i += 1024)
      chunks.push(content.subarray(i, Math.min(i + 1024, content.length)));
    let sent = 0;
    return Readable.from(
      (async function* () {
        for (const c of chunks) {
          if (failAfter !== undefined && sent >= failAfter) throw new Error('connection reset');
          sent += c.length;
          yield c;
        }
      })(),
    );
  };
}

/**
 * A source like the registry client's: `content` from `offset` piped through a DigestVerifier for
 * `verifies` (the descriptor the client was asked for), which may differ from what is served.
 */
function verifyingSourceOf(content: Buffer, verifies: BlobRef, requests: number[] = []): BlobSource {
  return async (_blob, offset) => {
    requests.push(offset);
    const verifier = new DigestVerifier({ mediaType: '', ...verifies });
    Readable.from([content.subarray(offset)]).pipe(verifier);
    return verifier;
  };
}

async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('BlobStore', () => {
  describe('when opened', () => {
    it('lays itself out as an OCI image layout', async () => {
      const store = await BlobStore.open(join(tmp.path, 'store'));
      expect(JSON.parse(readFileSync(join(store.root, 'oci-layout'), 'utf8'))).toEqual({
        imageLayoutVersion: '1.0.0',
      });
      expect(JSON.parse(readFileSync(join(store.root, 'index.json'), 'utf8')).manifests).toEqual([]);
      expect(existsSync(join(store.root, 'blobs', 'sha256'))).toBe(true);
    });
  });

  describe('when fetching a blob', () => {
    it('stores it under its digest, verified, and reads it back', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.from('x'.repeat(5000));
      const blob = blobOf(content);
      expect(await store.fetch(blob, sourceOf(content))).toBe(5000);
      expect(await store.has(blob.digest)).toBe(true);
      expect(readFileSync(store.blobPath(blob.digest)).equals(content)).toBe(true);
      expect((await store.readBytes(blob))?.equals(content)).toBe(true);
      expect(await store.list()).toEqual([blob.digest]);
      expect(readdirSync(store.incomingDir)).toEqual([]);
    });

    it('never fetches a blob it already holds', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.from('held');
      const requests: number[] = [];
      await store.fetch(blobOf(content), sourceOf(content, requests));
      expect(await store.fetch(blobOf(content), sourceOf(content, requests))).toBe(0);
      const opened = await store.open(blobOf(content), sourceOf(content, requests));
      expect(opened.fromStore).toBe(true);
      expect((await drain(opened.stream)).equals(content)).toBe(true);
      expect(requests).toEqual([0]);
    });

    it('ends the stream once the bytes are verified and commits the blob in the background', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.from('y'.repeat(5000));
      const blob = blobOf(content);
      const opened = await store.open(blob, sourceOf(content));
      expect((await drain(opened.stream)).equals(content)).toBe(true);
      // has() waits for the commit: a blob is never seen half committed.
      expect(await store.has(blob.digest)).toBe(true);
      await expect(store.settle()).resolves.toBeUndefined();
      expect(readFileSync(store.blobPath(blob.digest)).equals(content)).toBe(true);
      expect(readdirSync(store.incomingDir)).toEqual([]);
    });

    it('reports a commit that failed in the background from settle()', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.from('z'.repeat(5000));
      const blob = blobOf(content);
      const opened = await store.open(blob, sourceOf(content));
      const chunks: Buffer[] = [];
      for await (const chunk of opened.stream) {
        chunks.push(chunk as Buffer);
        // The rename into blobs/sha256 can only fail once that directory is gone.
        if (chunks.length === 1) rmSync(store.blobsDir, { recursive: true });
      }
      await expect(store.settle()).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await store.has(blob.digest)).toBe(false);
      await expect(store.settle()).resolves.toBeUndefined(); // reported once
    });

    it('refuses content that does not match the digest and keeps nothing', async () => {
      const store = await BlobStore.open(tmp.path);
      const blob = blobOf(Buffer.from('expected'));
      await expect(store.fetch(blob, sourceOf(Buffer.from('tampered')))).rejects.toMatchObject({
        code: 'E_DIGEST',
      });
      expect(await store.has(blob.digest)).toBe(false);
      expect(readdirSync(store.incomingDir)).toEqual([]);
    });

    it('refuses more bytes than the declared size', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.alloc(4096, 1);
      await expect(
        store.fetch({ digest: blobOf(content).digest, size: 100 }, sourceOf(content)),
      ).rejects.toMatchObject({ code: 'E_DIGEST' });
      expect(await store.list()).toEqual([]);
    });

    it('resumes an interrupted download from where it stopped', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.alloc(10 * 1024);
      for (let i = 0; i < content.length; i += 1) content[i] = (i * 7) % 256;
      const blob = blobOf(content);
      const requests: number[] = [];
      await expect(store.fetch(blob, sourceOf(content, requests, 4096))).rejects.toThrow('connection reset');
      expect(await store.partialSize(blob.digest)).toBe(4096);
      expect(await store.has(blob.digest)).toBe(false);
      expect(await store.fetch(blob, sourceOf(content, requests))).toBe(content.length - 4096);
      expect(requests).toEqual([0, 4096]);
      expect(readFileSync(store.blobPath(blob.digest)).equals(content)).toBe(true);
    });

    it('discards a partial download that turns out wrong', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.alloc(3000, 9);
      const blob = blobOf(content);
      writeFileSync(join(store.incomingDir, blob.digest.slice(7)), Buffer.alloc(1000, 1)); // garbage from a power cut
      await expect(store.fetch(blob, sourceOf(content))).rejects.toMatchObject({ code: 'E_DIGEST' });
      expect(await store.partialSize(blob.digest)).toBe(0);
      expect(await store.fetch(blob, sourceOf(content))).toBe(3000);
    });

    describe('from a source that verifies the same blob itself (docs/decisions/0900)', () => {
      it('stores what the source verified', async () => {
        const store = await BlobStore.open(tmp.path);
        const content = Buffer.alloc(300 * 1024, 5);
        const blob = blobOf(content);
        expect(await store.fetch(blob, verifyingSourceOf(content, blob))).toBe(content.length);
        expect(readFileSync(store.blobPath(blob.digest)).equals(content)).toBe(true);
        expect(readdirSync(store.incomingDir)).toEqual([]);
      });

      it("keeps nothing when the source's own check fails", async () => {
        const store = await BlobStore.open(tmp.path);
        const blob = blobOf(Buffer.from('expected content'));
        const tampered = Buffer.from('tampered content'); // same length: only the hash can tell
        await expect(store.fetch(blob, verifyingSourceOf(tampered, blob))).rejects.toMatchObject({
          code: 'E_DIGEST',
        });
        expect(await store.has(blob.digest)).toBe(false);
        expect(readdirSync(store.incomingDir)).toEqual([]);
      });

      it('still hashes when the source verifies another descriptor', async () => {
        const store = await BlobStore.open(tmp.path);
        const wanted = blobOf(Buffer.from('the wanted blob'));
        const other = Buffer.from('another one, ok'); // same length: only the hash can tell
        await expect(store.fetch(wanted, verifyingSourceOf(other, blobOf(other)))).rejects.toMatchObject({
          code: 'E_DIGEST',
        });
        // Same digest, another size: not the same descriptor either.
        const content = Buffer.from('sized blob');
        const blob = blobOf(content);
        const resized = { digest: blob.digest, size: blob.size + 1 };
        await expect(store.fetch(blob, verifyingSourceOf(content, resized))).rejects.toMatchObject({
          code: 'E_DIGEST',
        });
        expect(await store.list()).toEqual([]);
      });

      it('verifies a resumed download end to end, the held prefix included', async () => {
        const store = await BlobStore.open(tmp.path);
        const content = Buffer.alloc(3000, 9);
        const blob = blobOf(content);
        const requests: number[] = [];
        writeFileSync(join(store.incomingDir, blob.digest.slice(7)), Buffer.alloc(1000, 1)); // wrong prefix
        // A whole-blob verifier over a tail would fail anyway; the store must not trust it either way.
        await expect(store.fetch(blob, verifyingSourceOf(content, blob, requests))).rejects.toMatchObject({
          code: 'E_DIGEST',
        });
        expect(requests).toEqual([1000]);
        expect(await store.partialSize(blob.digest)).toBe(0);
        expect(await store.has(blob.digest)).toBe(false);
      });
    });

    it('refuses with E_NO_SPACE before downloading when the disk is too full', async () => {
      const store = await BlobStore.open(tmp.path, { spaceProbe: async () => 10_000, reserveBytes: 1000 });
      const content = Buffer.alloc(9500, 3);
      const requests: number[] = [];
      await expect(store.fetch(blobOf(content), sourceOf(content, requests))).rejects.toMatchObject({
        code: 'E_NO_SPACE',
      });
      expect(requests).toEqual([]);
    });

    it('refuses malformed digests, which would otherwise become file names', async () => {
      const store = await BlobStore.open(tmp.path);
      for (const digest of [
        'sha256:../../etc/passwd',
        'sha256:ABC',
        'md5:0123',
        `sha256:${'A'.repeat(64)}`,
      ]) {
        await expect(store.has(digest)).rejects.toMatchObject({ code: 'E_DIGEST' });
      }
    });
  });

  describe('when a held blob rotted on disk', () => {
    it('fails the read with E_DIGEST and removes the blob', async () => {
      const store = await BlobStore.open(tmp.path);
      const content = Buffer.from('good content');
      const blob = blobOf(content);
      await store.fetch(blob, sourceOf(content));
      writeFileSync(store.blobPath(blob.digest), 'bad content!');
      await expect(store.readBytes(blob)).rejects.toMatchObject({ code: 'E_DIGEST' });
      expect(await store.has(blob.digest)).toBe(false);
    });
  });

  describe('when collecting garbage', () => {
    it('keeps what the current and previous releases reference and removes the rest', async () => {
      const store = await BlobStore.open(tmp.path);
      const blobs = ['current', 'previous', 'old', 'older'].map((s) => ({
        content: Buffer.from(s),
        blob: blobOf(Buffer.from(s)),
      }));
      for (const b of blobs) await store.fetch(b.blob, sourceOf(b.content));
      const stale = blobOf(Buffer.from('stale partial'));
      writeFileSync(join(store.incomingDir, stale.digest.slice(7)), 'stale');
      const result = await store.gc(new Set([blobs[0]!.blob.digest]), [blobs[1]!.blob.digest]);
      expect(new Set(result.removed)).toEqual(new Set([blobs[2]!.blob.digest, blobs[3]!.blob.digest]));
      expect(new Set(await store.list())).toEqual(new Set([blobs[0]!.blob.digest, blobs[1]!.blob.digest]));
      expect(readdirSync(store.incomingDir)).toEqual([]);
      expect(result.freedBytes).toBe('old'.length + 'older'.length + 'stale'.length);
    });
  });

  it('stores small in-memory blobs after checking them', async () => {
    const store = await BlobStore.open(join(tmp.path, 'x'));
    mkdirSync(join(tmp.path, 'x', 'extra'));
    const config = Buffer.from('{"architecture":"arm64"}');
    await store.putBytes(blobOf(config), config);
    expect(readFileSync(store.blobPath(blobOf(config).digest)).equals(config)).toBe(true);
    await expect(
      store.putBytes(blobOf(config), Buffer.from('{"architecture":"amd64"}')),
    ).resolves.toBeUndefined(); // already held: not rewritten
    await expect(store.putBytes(blobOf(Buffer.from('a')), Buffer.from('b'))).rejects.toMatchObject({
      code: 'E_DIGEST',
    });
  });
});
