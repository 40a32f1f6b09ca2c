import { join } from 'node:path';
import { BubblewrapRuntime, type RuntimeRelease } from '@minerhaul/updater';
import { requireTool } from '../../../test/support/require-tool';
import { testMinerConfig, writeTestMinerTree } from '../../../test/support/test-miner';
import { makeTmpDir } from '../../../test/support/tmp-dir';

/** The `--setenv` pairs of a bwrap argument vector, in order. */
function setenvPairs(command: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  command.forEach((arg, i) => {
    if (arg === '--setenv') pairs.push([command[i + 1] ?? '', command[i + 2] ?? '']);
  });
  return pairs;
}

describe('BubblewrapRuntime', () => {
  describe('when the owner configures an environment', () => {
    const tmp = makeTmpDir('minerhaul-bwrap-env-');
    afterAll(() => tmp.cleanup());

    it('sets it in the sandbox after the image environment, so the owner value wins', async () => {
      requireTool('bwrap');
      const release: RuntimeRelease = {
        digest: `sha256:${'a'.repeat(64)}`,
        manifestDigest: `sha256:${'b'.repeat(64)}`,
        version: '1.0.0',
        sequence: 1,
        bubblewrap: {
          releaseDir: writeTestMinerTree(join(tmp.path, 'release'), { version: '1.0.0' }),
          mode: 'slim',
        },
        config: testMinerConfig(18080),
      };
      const runtime = new BubblewrapRuntime({
        stateDir: join(tmp.path, 'state'),
        dataDir: join(tmp.path, 'data'),
        env: ['MINER_PORT=28080', 'OWNER_ONLY=yes'],
      });
      const prepared = (await runtime.prepare(release)) as unknown as { command: string[] };
      const pairs = setenvPairs(prepared.command);
      const ports = pairs.filter(([key]) => key === 'MINER_PORT').map(([, value]) => value);
      expect(ports).toEqual(['18080', '28080']);
      expect(pairs).toContainEqual(['OWNER_ONLY', 'yes']);
    });
  });
});
