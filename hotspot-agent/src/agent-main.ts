import { MINERHAUL_VERSION } from '@minerhaul/signing';
import { checkOnceCommand, runDaemonCommand } from './commands/agent-commands-impl';
import { DEFAULT_CONFIG_PATH } from './commands/agent-status-read';
import { createPinoLogger } from './daemon/agent-logger';
import { childProcessEngineFactory } from './engine/child-process-engine';
import { createAgentEngine } from './engine/engine-factory';
import { isMinerhaulError } from './errors';

const USAGE = 'usage: minerhaul-agent run|check [--config FILE]\n';

/**
 * The daemon's own light entry point (bin/minerhaul-agent.js), for the systemd unit and the container
 * image: the same `agent run` / `agent check` as the `minerhaul` CLI, without commander and the other
 * commands' modules (~10 MiB of RSS on a device that runs only the agent; docs/performance.md "Agent").
 * Exit statuses follow the CLI: 1 for a coded failure, 2 for bad usage, 70 for a bug.
 */
export async function agentMain(
  argv: string[],
  stderr: (t: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const [command, ...rest] = argv;
  let configPath = DEFAULT_CONFIG_PATH;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--config' && rest[i + 1] !== undefined) configPath = rest[++i] as string;
    else if (arg?.startsWith('--config=')) configPath = arg.slice('--config='.length);
    else {
      stderr(`error[E_CONFIG]: unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
      return 2;
    }
  }
  if (command === '--version') {
    process.stdout.write(`${MINERHAUL_VERSION}\n`);
    return 0;
  }
  if (command !== 'run' && command !== 'check') {
    stderr(USAGE);
    return 2;
  }
  const log = createPinoLogger(command === 'check' ? (process.env.MINERHAUL_LOG_LEVEL ?? 'warn') : undefined);
  try {
    // The daemon runs each engine job in a child process (docs/decisions/0506); a one-shot check
    // runs it in-process.
    if (command === 'run')
      await runDaemonCommand({ configPath, log, engineFactory: childProcessEngineFactory() });
    else {
      const summary = await checkOnceCommand({ configPath, log, engineFactory: createAgentEngine });
      process.stdout.write(JSON.stringify(summary) + '\n');
    }
    return 0;
  } catch (err) {
    if (isMinerhaulError(err)) {
      stderr(`error[${err.code}]: ${err.message}\n`);
      return err.code === 'E_CONFIG' ? 2 : 1;
    }
    stderr(
      `internal error (a bug in minerhaul, please report it):\n${err instanceof Error ? err.stack : String(err)}\n`,
    );
    return 70;
  }
}
