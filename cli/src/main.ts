import { Command, CommanderError } from 'commander';
import { MINERHAUL_VERSION, MinerhaulError } from '@minerhaul/signing';
import { type CliContext, type CliIo, EXIT_USAGE, makeContext, processIo, reportError } from './cli-context';
import { registerSigningCommands } from './commands/signing-commands';
import { registerRegistryCommands } from './commands/registry-commands';
import { registerUpdaterCommands } from './commands/updater-commands';
import { registerAgentCommands } from './commands/agent-commands';
import { registerFleetCommands } from './commands/fleet-commands';
import { registerDemoCommands } from './commands/demo-commands';

/** Wraps an action so that every command reports errors the same way. */
export type ActionRunner = <A extends unknown[]>(
  fn: (ctx: CliContext, ...args: A) => Promise<void>,
) => (...args: A) => Promise<void>;

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('minerhaul')
    .description('Signed over-the-air miner updates through OCI registries')
    .option('--json', 'machine-readable output (results on stdout, errors on stderr)')
    .exitOverride()
    // Commander's own error text is replaced by our error[E_CONFIG] line.
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: () => undefined,
    });

  const run: ActionRunner =
    (fn) =>
    async (...args) => {
      const json = Boolean(program.opts().json);
      try {
        await fn(makeContext(io, json), ...args);
      } catch (err) {
        setExit(reportError(io, json, err));
      }
    };

  registerSigningCommands(program, run);
  registerDemoCommands(program, run);
  registerRegistryCommands(program, run);
  registerUpdaterCommands(program, run);
  registerAgentCommands(program, run);
  registerFleetCommands(program, run);
  return program;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  // Answered here, not by commander's .version(): a root --version option would swallow
  // `build --version 1.2.3` wherever it stands on the line.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    io.stdout(`${MINERHAUL_VERSION}\n`);
    return 0;
  }
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (err.exitCode === 0) return 0;
      const json = argv.includes('--json');
      reportError(io, json, new MinerhaulError('E_CONFIG', err.message.replace(/^error: /, '')));
      return EXIT_USAGE;
    }
    return reportError(io, argv.includes('--json'), err);
  }
  return exitCode;
}
