import { MinerhaulError } from '@minerhaul/signing';
import { freePort, portInUse } from './free-port';

const ATTEMPTS = 5;

/**
 * A free 127.0.0.1 port for the sandboxed sample miner. The agent passes it as `runtime.env.MINER_PORT`
 * (set after the image's own environment, docs/owner-guide.md "Configuration"); the miner's default
 * 8080 is often taken on a shared machine.
 */
export async function chooseMinerPort(
  pick: () => Promise<number> = freePort,
  inUse: (port: number) => Promise<boolean> = portInUse,
): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = await pick();
    if (port > 0 && !(await inUse(port))) return port;
  }
  throw new MinerhaulError('E_CONFIG', 'found no free 127.0.0.1 port for the sample miner');
}
