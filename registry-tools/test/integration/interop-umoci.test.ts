import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildImage } from '../../src/builder';
import { openStore } from '../../src/open-store';
import { requireTool } from '../../../test/support/require-tool';
import { makeTmpDir } from '../../../test/support/tmp-dir';
import { makeBusyboxTree } from '../publish/fixtures';

const run = promisify(execFile);

describe('interop with umoci', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeAll(() => {
    tmp = makeTmpDir();
  });
  afterAll(() => tmp.cleanup());

  describe('when umoci unpacks a layout written by build (common + platform layer, gzip)', () => {
    it('returns a rootfs with our files, modes and fixed times, and the entrypoint in its config', async () => {
      const umoci = requireTool('umoci');
      const tree = makeBusyboxTree(tmp.path);
      const common = join(tmp.path, 'common');
      makeBusyboxTree(common, 'share');
      const layout = join(tmp.path, 'layout');
      // umoci 0.4 resolves a tag to exactly one manifest (no platform choice), so one platform here.
      await buildImage(
        {
          platforms: [{ platform: { os: 'linux', architecture: 'arm64' }, dir: tree }],
          common,
          entrypoint: 'bin/busybox',
          version: '2.0.0',
          tag: 'v2',
          sourceDateEpoch: 1_700_000_000,
        },
        openStore(`oci-layout:${layout}`),
      );
      const bundle = join(tmp.path, 'bundle');
      // As root umoci keeps owners; it verifies each layer against its diff_id while unpacking.
      await run(umoci, ['unpack', '--image', `${layout}:v2`, bundle], { timeout: 60_000 });
      const miner = statSync(join(bundle, 'rootfs/opt/miner/bin/busybox'));
      expect(miner.mode & 0o777).toBe(0o755);
      expect(miner.uid).toBe(0);
      expect(miner.mtimeMs).toBe(1_700_000_000_000);
      expect(readFileSync(join(bundle, 'rootfs/opt/miner/share/README'), 'utf8')).toBe('test miner\n');
      const runtime = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
        process: { args: string[] };
      };
      expect(runtime.process.args).toEqual(['/opt/miner/bin/busybox']);
    });
  });
});
