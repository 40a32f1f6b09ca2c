import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main, type CliIo } from '@minerhaul/cli';
import { OciLayoutStore, signImage } from '@minerhaul/registry-tools';
import { hostPlatform } from '@minerhaul/updater';
import { requireTool } from '../../../test/support/require-tool';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { makeTestKeys, publishRelease, type TestKeys } from '../engine/release-fixtures';

/** `minerhaul unpack` end to end, on an OCI layout built and signed by the real builder and signer. */
describe('minerhaul unpack', () => {
  let tmp: { path: string; cleanup: () => void };
  let keys: TestKeys;
  let layout: string;
  let keyFile: string;

  beforeAll(async () => {
    tmp = makeTmpDir('unpack-cmd-');
    keys = makeTestKeys();
    layout = join(tmp.path, 'layout');
    keyFile = join(tmp.path, 'trusted.pub');
    await writeFile(keyFile, keys.publicKeyText);
    const store = new OciLayoutStore(layout);
    await publishRelease(store, {
      version: '1.0.0',
      tag: 'stable',
      files: { 'bin/miner': { content: '#!/bin/sh\necho v1\n', mode: 0o755 }, 'etc/miner.conf': 'v=1\n' },
      common: { 'share/data.txt': 'shared\n' },
      keys,
    });
    await publishRelease(store, { version: '9.9.9', tag: 'unsigned', files: { 'bin/miner': 'x' } });
  });
  afterAll(() => tmp.cleanup());

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: {},
      stdin: Readable.from([]) as unknown as CliIo['stdin'],
      stdoutIsTty: false,
    };
    const code = await main(['node', 'minerhaul', ...args], io);
    return { code, stdout, stderr };
  }
  const errorCode = (stderr: string): string =>
    (JSON.parse(stderr) as { error: { code: string } }).error.code;

  describe('when the image is signed by a trusted key', () => {
    it('unpacks every layer into DIR and prints the verified statement', async () => {
      const dest = join(tmp.path, 'out-ok');
      const r = await cli('--json', 'unpack', `oci-layout:${layout}:stable`, dest, '--key', keyFile);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ verified: true, statement: { version: '1.0.0', channel: 'stable' } });
      expect(out.layers).toHaveLength(2);
      expect(await readFile(join(dest, 'opt/miner/bin/miner'), 'utf8')).toBe('#!/bin/sh\necho v1\n');
      expect(await readFile(join(dest, 'opt/miner/share/data.txt'), 'utf8')).toBe('shared\n');
      expect((await stat(join(dest, 'opt/miner/bin/miner'))).mode & 0o777).toBe(0o755);
    });

    it('accepts the key as its base64 line too', async () => {
      const line = keys.publicKeyText.split('\n')[1] ?? '';
      const r = await cli('unpack', `oci-layout:${layout}:stable`, join(tmp.path, 'out-line'), '--key', line);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^verified sha256:[a-f0-9]{64}: version 1\.0\.0/);
    });
  });

  describe('when verification cannot pass', () => {
    it('refuses an unsigned image with E_SIGNATURE and writes nothing', async () => {
      const dest = join(tmp.path, 'out-unsigned');
      const r = await cli('--json', 'unpack', `oci-layout:${layout}:unsigned`, dest, '--key', keyFile);
      expect(r.code).toBe(1);
      expect(errorCode(r.stderr)).toBe('E_SIGNATURE');
      await expect(stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('refuses a signature by an untrusted key with E_SIGNATURE', async () => {
      const other = makeTestKeys('other');
      const otherFile = join(tmp.path, 'other.pub');
      await writeFile(otherFile, other.publicKeyText);
      const r = await cli(
        '--json',
        'unpack',
        `oci-layout:${layout}:stable`,
        join(tmp.path, 'o2'),
        '--key',
        otherFile,
      );
      expect(errorCode(r.stderr)).toBe('E_SIGNATURE');
    });

    it('refuses a threshold the keys cannot meet with E_CONFIG', async () => {
      const r = await cli(
        '--json',
        'unpack',
        `oci-layout:${layout}:stable`,
        join(tmp.path, 'o3'),
        '--key',
        keyFile,
        '--threshold',
        '2',
      );
      expect(errorCode(r.stderr)).toBe('E_CONFIG');
    });

    it('refuses a wrong channel with E_STATEMENT', async () => {
      const r = await cli(
        '--json',
        'unpack',
        `oci-layout:${layout}:stable`,
        join(tmp.path, 'o4'),
        '--key',
        keyFile,
        '--channel',
        'beta',
      );
      expect(errorCode(r.stderr)).toBe('E_STATEMENT');
    });

    it('refuses a missing tag with E_NOT_FOUND', async () => {
      const r = await cli(
        '--json',
        'unpack',
        `oci-layout:${layout}:nope`,
        join(tmp.path, 'o5'),
        '--key',
        keyFile,
      );
      expect(errorCode(r.stderr)).toBe('E_NOT_FOUND');
    });

    it('refuses a platform the image does not have with E_PLATFORM', async () => {
      const r = await cli(
        '--json',
        'unpack',
        `oci-layout:${layout}:stable`,
        join(tmp.path, 'o6'),
        '--key',
        keyFile,
        '--platform',
        'linux/s390x',
      );
      expect(errorCode(r.stderr)).toBe('E_PLATFORM');
    });
  });

  describe('when the arguments are wrong', () => {
    it.each([
      ['no --key', []],
      ['--key with --insecure-skip-verify', ['--key', 'KEY', '--insecure-skip-verify']],
      ['a bad threshold', ['--key', 'KEY', '--threshold', 'zero']],
      ['--username without --password-stdin', ['--key', 'KEY', '--username', 'u']],
      ['a malformed platform', ['--key', 'KEY', '--platform', 'not a platform']],
    ])('refuses %s with E_CONFIG (exit 2)', async (_name, extra) => {
      const args = extra.map((a) => (a === 'KEY' ? keyFile : a));
      const r = await cli('--json', 'unpack', `oci-layout:${layout}:stable`, join(tmp.path, 'bad'), ...args);
      expect(r.code).toBe(2);
      expect(errorCode(r.stderr)).toBe('E_CONFIG');
    });

    it('refuses a non-empty DIR with E_CONFIG', async () => {
      const dest = join(tmp.path, 'busy');
      await cli('unpack', `oci-layout:${layout}:stable`, dest, '--key', keyFile);
      const r = await cli('--json', 'unpack', `oci-layout:${layout}:stable`, dest, '--key', keyFile);
      expect(errorCode(r.stderr)).toBe('E_CONFIG');
    });
  });

  describe('when a signed image carries a hostile layer', () => {
    it('refuses it with E_UNSAFE_ARCHIVE and writes nothing outside (or inside) DIR', async () => {
      const store = new OciLayoutStore(layout);
      const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
      // A layer whose second entry climbs out of the release directory (python3 tarfile allows it).
      const tarPath = join(tmp.path, 'hostile.tar');
      execFileSync(requireTool('python3'), [
        '-c',
        [
          'import io, sys, tarfile',
          't = tarfile.open(sys.argv[1], "w")',
          'for name in ["opt/miner/ok.txt", "../../escaped.txt"]:',
          '    data = b"x\\n"; info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))',
          't.close()',
        ].join('\n'),
        tarPath,
      ]);
      const tar = await readFile(tarPath);
      const layer = {
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: sha(tar),
        size: tar.length,
      };
      await store.putBlob(layer, () => Readable.from([tar]));
      const [os, architecture] = hostPlatform().split('/');
      const config = Buffer.from(
        JSON.stringify({ os, architecture, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }),
      );
      const configDescriptor = {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha(config),
        size: config.length,
      };
      await store.putBlob(configDescriptor, () => Readable.from([config]));
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: configDescriptor,
          layers: [layer],
          annotations: { 'org.opencontainers.image.version': '6.6.6' },
        }),
      );
      await store.putManifest(manifest, 'application/vnd.oci.image.manifest.v1+json', 'hostile');
      await signImage(store, { reference: 'hostile', secretKey: keys.secretKey, channel: 'hostile' });

      const parent = join(tmp.path, 'sentinel');
      await mkdir(parent);
      const dest = join(parent, 'deep', 'out');
      const r = await cli('--json', 'unpack', `oci-layout:${layout}:hostile`, dest, '--key', keyFile);
      expect(errorCode(r.stderr)).toBe('E_UNSAFE_ARCHIVE');
      expect(await readdir(parent, { recursive: true })).toEqual(['deep']);
      await expect(stat(join(tmp.path, 'escaped.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  describe('when asked to skip verification by name', () => {
    it('unpacks an unsigned image and says it was NOT verified', async () => {
      const dest = join(tmp.path, 'out-skip');
      const r = await cli('unpack', `oci-layout:${layout}:unsigned`, dest, '--insecure-skip-verify');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('NOT VERIFIED');
      expect(await readdir(join(dest, 'opt/miner/bin'))).toEqual(['miner']);
    });
  });
});
