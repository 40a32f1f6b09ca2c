import { Command, CommanderError } from 'commander';
import { MINERHAUL_VERSION, MinerhaulError } from '@minerhaul/signing';
import { type CliContext, type CliIo, EXIT_USAGE, makeContext, processIo, reportError } from './cli-context';
import { registerSigningCommands } from './commands/signing-commands';

/** Wraps an action so that every command reports errors the same way. */
export type ActionRunner = <A extends unknown[]>(
  fn: (ctx: CliContext, ...args: A) => Promise<void>,
) => (...args: A) => Promise<void>;

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('minerhaul')
    .description('Signed over-the-air miner updates through OCI registries')
    .version(MINERHAUL_VERSION)
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
  return program;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
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
