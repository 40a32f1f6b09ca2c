import { readFileSync } from 'node:fs';
import type { BuildResult, ImageStore } from '@minerhaul/registry-tools';
import { requireTool } from '../../../test/support/require-tool';
import { TEST_MINER_SCRIPT } from '../../../test/support/test-miner';
import { publishRelease, type TestKeys } from './release-fixtures';

export interface MinerImageOptions {
  version: string;
  /** 127.0.0.1 port the miner serves /version and /health on (baked into the image). */
  port: number;
  failHealth?: boolean;
  keys?: TestKeys;
  tag: string;
  sequence?: number;
}

/**
 * The test miner as a slim image built by the real builder: one layer with the miner (changes per
 * version) and a `--common` layer holding a static busybox (identical in every version, so shared
 * between releases: the layer a hotspot must never fetch twice). Runs under bubblewrap slim mode
 * and as a Docker container alike, because it needs nothing outside /opt/miner.
 */
export async function publishMinerImage(store: ImageStore, options: MinerImageOptions): Promise<BuildResult> {
  const wrapper = [
    '#!/opt/miner/bin/busybox sh',
    `export MINER_PORT=${options.port}`,
    'export PATH=/opt/miner/bin:$PATH',
    'busybox mkdir -p /tmp',
    'exec busybox sh /opt/miner/bin/test-miner "$@"',
    '',
  ].join('\n');
  return publishRelease(store, {
    version: options.version,
    tag: options.tag,
    files: {
      'bin/miner': { content: wrapper, mode: 0o755 },
      'bin/test-miner': { content: readFileSync(TEST_MINER_SCRIPT), mode: 0o755 },
      VERSION: `${options.version}\n`,
      ...(options.failHealth ? { FAIL_HEALTH: '1\n' } : {}),
    },
    common: { 'bin/busybox': { content: readFileSync(requireTool('busybox')), mode: 0o755 } },
    ...(options.keys ? { keys: options.keys } : {}),
    ...(options.sequence !== undefined ? { sequence: options.sequence } : {}),
  });
}
