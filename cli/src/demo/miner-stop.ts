import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const supervisorPidFile = (stateDir: string): string => join(stateDir, 'bubblewrap', 'supervisor.pid');

/**
 * Stops the sandboxed miner. It outlives the agent by design (DESIGN.md "Update lifecycle"): its
 * detached supervisor is not the agent's child, so stopping the agent leaves it running. The
 * runtime's own stop() ends it the way the agent would (docs/decisions/0351).
 */
export async function stopMiner(stateDir: string, dataDir: string): Promise<void> {
  if (!existsSync(supervisorPidFile(stateDir))) return;
  const { BubblewrapRuntime } = require('@minerhaul/updater') as typeof import('@minerhaul/updater');
  await new BubblewrapRuntime({ stateDir, dataDir, stopGraceMs: 5_000 }).stop();
}

/**
 * Last resort from an `exit` handler: SIGKILL the supervisor's process group (it runs setsid, so its
 * pgid is its pid); bwrap's --die-with-parent then takes the sandbox down with it.
 */
export function killMinerSync(stateDir: string): void {
  try {
    const pid = Number(readFileSync(supervisorPidFile(stateDir), 'utf8').trim());
    // Only our own supervisor: a stale file's pid may belong to someone else by now.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (Number.isInteger(pid) && pid > 1 && cmdline.includes(stateDir)) process.kill(-pid, 'SIGKILL');
  } catch {
    // no supervisor, or gone already
  }
}
