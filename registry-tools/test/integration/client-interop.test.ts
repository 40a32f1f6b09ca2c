import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  MEDIA_TYPE_OCI_INDEX,
  OciLayoutStore,
  digestOf,
  openStore,
  type ImageStore,
} from '@minerhaul/registry-tools';
import { startRegistry, type RunningRegistry } from '../../../test/support/registry';
import { requireTool } from '../../../test/support/require-tool';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { copyAll, makeImage, makeIndex, pushImage } from '../client/test-image';

const run = promisify(execFile);
const noDockerConfig = { dockerConfigPath: '/nonexistent/docker-config.json' };

describe('registry client interoperability with skopeo and umoci', () => {
  let registry: RunningRegistry;
  let store: ImageStore;
  let skopeo: string;
  let umoci: string;
  const tmp = makeTmpDir();
  const arm = makeImage({ 'opt/miner/run.sh': '#!/bin/sh\necho arm64\n' }, 'arm64');
  const amd = makeImage({ 'opt/miner/run.sh': '#!/bin/sh\necho amd64\n' }, 'amd64');
  const index = makeIndex([
    { image: arm, architecture: 'arm64' },
    { image: amd, architecture: 'amd64' },
  ]);

  beforeAll(async () => {
    skopeo = requireTool('skopeo');
    umoci = requireTool('umoci');
    registry = await startRegistry();
    store = openStore(`${registry.host}/interop`, noDockerConfig);
    await pushImage(store, arm, 'arm64-only');
    await pushImage(store, amd);
    await store.putManifest(index, MEDIA_TYPE_OCI_INDEX, 'multi');
  });
  afterAll(async () => {
    await registry.stop();
    tmp.cleanup();
  });

  describe('when skopeo reads what we pushed', () => {
    it('sees our exact index bytes and picks the arm64 image from it', async () => {
      const raw = await run(
        skopeo,
        ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/interop:multi`],
        {
          encoding: 'buffer',
        },
      );
      expect(digestOf(raw.stdout)).toBe(digestOf(index));
      const inspected = await run(skopeo, [
        'inspect',
        '--tls-verify=false',
        '--override-os',
        'linux',
        '--override-arch',
        'arm64',
        `docker://${registry.host}/interop:multi`,
      ]);
      const info = JSON.parse(inspected.stdout) as { Digest: string; Architecture: string; Layers: string[] };
      expect(info.Digest).toBe(digestOf(index));
      expect(info.Architecture).toBe('arm64');
      expect(info.Layers).toEqual([arm.blobs[1]!.descriptor.digest]);
    });

    it('copies the whole index into an OCI layout with the digests preserved', async () => {
      const dir = join(tmp.path, 'skopeo-copy');
      await run(skopeo, [
        '--insecure-policy',
        'copy',
        '--all',
        '--preserve-digests',
        '--src-tls-verify=false',
        `docker://${registry.host}/interop:multi`,
        `oci:${dir}:copied`,
      ]);
      const layout = new OciLayoutStore(dir);
      expect((await layout.resolve('copied'))?.digest).toBe(digestOf(index));
      expect(await layout.hasBlob(arm.blobs[1]!.descriptor)).toBe(true);
    });
  });

  describe('when skopeo pushes and we pull', () => {
    it('pulls skopeo-pushed content into an OCI layout, verified', async () => {
      const source = join(tmp.path, 'skopeo-source');
      await copyAll(store, new OciLayoutStore(source), 'arm64-only', 'src');
      await run(skopeo, [
        '--insecure-policy',
        'copy',
        '--dest-tls-verify=false',
        `oci:${source}:src`,
        `docker://${registry.host}/from-skopeo:v1`,
      ]);
      const raw = await run(
        skopeo,
        ['inspect', '--tls-verify=false', '--raw', `docker://${registry.host}/from-skopeo:v1`],
        {
          encoding: 'buffer',
        },
      );
      const pushedBySkopeo = openStore(`${registry.host}/from-skopeo`, noDockerConfig);
      const target = new OciLayoutStore(join(tmp.path, 'pulled'));
      const pulled = await copyAll(pushedBySkopeo, target, 'v1', 'v1');
      expect(pulled.digest).toBe(digestOf(raw.stdout));
      expect((await target.getManifest('v1'))?.bytes.equals(raw.stdout)).toBe(true);
    });
  });

  describe('when umoci unpacks a layout we wrote', () => {
    it('accepts it and produces the files of the layer', async () => {
      const dir = join(tmp.path, 'for-umoci');
      await copyAll(store, new OciLayoutStore(dir), 'arm64-only', 'v1');
      const bundle = join(tmp.path, 'bundle');
      await run(umoci, ['unpack', '--rootless', '--image', `${dir}:v1`, bundle]);
      expect(readFileSync(join(bundle, 'rootfs', 'opt', 'miner', 'run.sh'), 'utf8')).toBe(
        '#!/bin/sh\necho arm64\n',
      );
    });
  });
});
