import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BuildResult, buildImage } from '../../src/builder';
import { openStore } from '../../src/open-store';
import { copyImage } from '../../src/publish';
import { MEDIA_TYPE_DOCKER_MANIFEST_LIST } from '../../src/manifest';
import { type RunningRegistry, startRegistry } from '../../../test/support/registry';
import { requireTool } from '../../../test/support/require-tool';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { makeBusyboxTree } from '../publish/fixtures';

const run = promisify(execFile);

async function skopeo(args: string[]): Promise<string> {
  const { stdout } = await run(requireTool('skopeo'), args, { timeout: 60_000, maxBuffer: 16 << 20 });
  return stdout;
}

const sha256 = (s: string | Buffer): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

describe('interop with skopeo', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let registry: RunningRegistry;
  let built: BuildResult;
  let layoutDir: string;

  beforeAll(async () => {
    tmp = makeTmpDir();
    registry = await startRegistry();
    layoutDir = join(tmp.path, 'layout');
    const tree = makeBusyboxTree(tmp.path);
    const common = join(tmp.path, 'common');
    makeBusyboxTree(common, 'share');
    built = await buildImage(
      {
        platforms: [
          { platform: { os: 'linux', architecture: 'amd64' }, dir: tree },
          { platform: { os: 'linux', architecture: 'arm64' }, dir: tree },
        ],
        common,
        entrypoint: 'bin/busybox',
        version: '1.0.0',
        tag: '1.0.0',
        sourceDateEpoch: 1_700_000_000,
      },
      openStore(`oci-layout:${layoutDir}`),
    );
    await copyImage(openStore(`oci-layout:${layoutDir}`), openStore(`${registry.host}/miner:1.0.0`), {
      reference: '1.0.0',
      tag: '1.0.0',
    });
  });

  afterAll(async () => {
    await registry?.stop();
    tmp?.cleanup();
  });

  describe('when skopeo inspects what we pushed', () => {
    it('returns our index byte for byte and the platform config with our labels', async () => {
      const raw = await skopeo([
        'inspect',
        '--tls-verify=false',
        '--raw',
        `docker://${registry.host}/miner:1.0.0`,
      ]);
      expect(sha256(raw)).toBe(built.index.digest);
      const info = JSON.parse(
        await skopeo([
          'inspect',
          '--tls-verify=false',
          '--override-arch',
          'arm64',
          `docker://${registry.host}/miner:1.0.0`,
        ]),
      ) as { Architecture: string; Labels: Record<string, string>; Layers: string[] };
      expect(info.Architecture).toBe('arm64');
      expect(info.Labels['org.opencontainers.image.version']).toBe('1.0.0');
      expect(info.Layers[0]).toBe(built.commonLayer?.digest);
    });
  });

  describe('when skopeo copies what we pushed into an OCI layout', () => {
    it('returns the same index digest in its layout', async () => {
      const dir = join(tmp.path, 'skopeo-layout');
      await skopeo([
        'copy',
        '--all',
        '--src-tls-verify=false',
        `docker://${registry.host}/miner:1.0.0`,
        `oci:${dir}:copied`,
      ]);
      const resolved = await openStore(`oci-layout:${dir}`).resolve('copied');
      expect(resolved?.digest).toBe(built.index.digest);
    });
  });

  describe('when skopeo pushes an image (converted to Docker schema 2)', () => {
    it('returns it pulled by us into a layout with every blob verified', async () => {
      await skopeo([
        'copy',
        '--all',
        '--format',
        'v2s2',
        '--dest-tls-verify=false',
        `oci:${layoutDir}:1.0.0`,
        `docker://${registry.host}/from-skopeo:v2s2`,
      ]);
      const raw = await skopeo([
        'inspect',
        '--tls-verify=false',
        '--raw',
        `docker://${registry.host}/from-skopeo:v2s2`,
      ]);
      expect((JSON.parse(raw) as { mediaType: string }).mediaType).toBe(MEDIA_TYPE_DOCKER_MANIFEST_LIST);
      const dst = openStore(`oci-layout:${join(tmp.path, 'pulled')}`);
      const result = await copyImage(openStore(`${registry.host}/from-skopeo:v2s2`), dst, {
        reference: 'v2s2',
        tag: 'pulled',
      });
      expect(result.descriptor.digest).toBe(sha256(raw));
      expect((await dst.resolve('pulled'))?.digest).toBe(sha256(raw));
      // index + 2 manifests; blobs: 2 configs, the common layer once, the platform layer once
      // (both platforms hold the same tree here, so their layers are one blob)
      expect(result.manifests).toBe(3);
      expect(result.blobs).toBe(4);
    });
  });
});
