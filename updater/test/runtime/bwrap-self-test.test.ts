import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BubblewrapRuntime, bwrapSelfTest } from '@minerhaul/updater';
import { requireTool } from '../../../test/support/require-tool';
import { makeTmpDir } from '../../../test/support/tmp-dir';

describe('bwrapSelfTest', () => {
  const tmp = makeTmpDir('minerhaul-selftest-');
  afterAll(() => tmp.cleanup());

  it('passes with the real bwrap', async () => {
    await expect(bwrapSelfTest(requireTool('bwrap'))).resolves.toBeUndefined();
  });

  describe('when bwrap cannot work on this host', () => {
    it('reports E_RUNTIME with what bwrap said', async () => {
      // A stand-in for a host with user namespaces restricted (Ubuntu's AppArmor userns policy, §6.1).
      const fake = join(tmp.path, 'bwrap');
      writeFileSync(fake, '#!/bin/sh\necho "bwrap: setting up uid map: Permission denied" >&2\nexit 1\n');
      chmodSync(fake, 0o755);
      await expect(bwrapSelfTest(fake)).rejects.toMatchObject({
        code: 'E_RUNTIME',
        details: expect.objectContaining({ stderr: 'bwrap: setting up uid map: Permission denied' }),
      });
    });

    it('refuses to prepare a release when bwrap is missing', async () => {
      const releaseDir = join(tmp.path, 'release');
      mkdirSync(join(releaseDir, 'opt', 'miner'), { recursive: true });
      const runtime = new BubblewrapRuntime({
        stateDir: join(tmp.path, 'state'),
        dataDir: join(tmp.path, 'data'),
        bwrapPath: join(tmp.path, 'no-such-bwrap'),
      });
      const release = {
        digest: 'sha256:x',
        manifestDigest: 'sha256:x',
        version: '1',
        sequence: 1,
        bubblewrap: { releaseDir, mode: 'slim' as const },
        config: { entrypoint: ['/opt/miner/bin/miner'], cmd: [], env: [] },
      };
      await expect(runtime.prepare(release)).rejects.toMatchObject({ code: 'E_RUNTIME' });
    });
  });
});
