import { join } from 'node:path';
import { buildImage } from '../../src/builder';
import { openStore } from '../../src/open-store';
import { copyImage } from '../../src/publish';
import { type TestDockerd, startDockerd } from '../../../test/support/dockerd';
import { type RunningRegistry, startRegistry } from '../../../test/support/registry';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { makeBusyboxTree } from '../publish/fixtures';

jest.setTimeout(180_000);

describe('interop with a real Docker engine', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let registry: RunningRegistry;
  let engine: TestDockerd;

  beforeAll(async () => {
    tmp = makeTmpDir();
    [registry, engine] = await Promise.all([startRegistry(), startDockerd()]);
  });
  afterAll(async () => {
    await engine?.stop();
    await registry?.stop();
    tmp?.cleanup();
  });

  describe('when an image we built and pushed is pulled by digest', () => {
    it('runs a container from it', async () => {
      const tree = makeBusyboxTree(tmp.path);
      const layout = openStore(`oci-layout:${join(tmp.path, 'layout')}`);
      const built = await buildImage(
        {
          // Both platforms: the engine picks its own (amd64 on CI) from the index.
          platforms: [
            { platform: { os: 'linux', architecture: 'amd64' }, dir: tree },
            { platform: { os: 'linux', architecture: 'arm64' }, dir: tree },
          ],
          entrypoint: 'bin/busybox',
          version: '3.0.0',
          tag: '3.0.0',
          sourceDateEpoch: 1_700_000_000,
        },
        layout,
      );
      await copyImage(layout, openStore(`${registry.host}/miner:3.0.0`), {
        reference: '3.0.0',
        tag: '3.0.0',
      });
      // 127.0.0.0/8 registries are insecure-allowed by default in dockerd.
      const image = `${registry.host}/miner@${built.index.digest}`;
      await engine.docker(['pull', image], 120_000);
      const out = await engine.docker(['run', '--rm', '--network', 'none', image, 'echo', 'hello'], 60_000);
      expect(out).toBe('hello');
      const repoDigests = await engine.docker([
        'image',
        'inspect',
        '--format',
        '{{json .RepoDigests}}',
        image,
      ]);
      expect(repoDigests).toContain(built.index.digest);
    });
  });
});
