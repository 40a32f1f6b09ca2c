import { MinerhaulError } from '@minerhaul/signing';
import type { RunningMiner } from '../runtime/miner-runtime';

/** E_HEALTH unless the expected release is the one up and running. */
export function requireRunning(miner: RunningMiner | undefined, digest: string): RunningMiner {
  if (!miner) throw new MinerhaulError('E_HEALTH', 'no miner is running');
  if (miner.digest !== digest) {
    throw new MinerhaulError(
      'E_HEALTH',
      `the running miner is ${miner.version} (${miner.digest}), not ${digest}`,
      {
        details: { running: miner.digest, expected: digest },
      },
    );
  }
  if (!miner.running) {
    throw new MinerhaulError('E_HEALTH', `miner ${miner.version} is not running`, {
      details: { restartCount: miner.restartCount },
    });
  }
  return miner;
}

/** Re-throws an abort as itself (not a health failure). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}
