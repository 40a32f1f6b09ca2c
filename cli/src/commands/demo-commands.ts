import type { Command } from 'commander';
import { MinerhaulError } from '@minerhaul/signing';
import type { ActionRunner } from '../main';
import { type DemoFlags, REGISTRY_MODES, parseDemoOptions } from '../demo/demo-options';

type DemoRun = typeof import('../demo/demo-run');

/**
 * `minerhaul demo`: the README's main command. The whole demonstration lives in cli/src/demo/
 * (loaded only when the command runs); this file parses the flags and reports the outcome.
 */
export function registerDemoCommands(program: Command, run: ActionRunner): void {
  program
    .command('demo')
    .description(
      'end to end on this machine: build, sign and publish the sample miner, a fleet server and a ' +
        'bubblewrap agent taking v1 and v2, refusing a badly signed v3, rolling back an unhealthy v4',
    )
    .option('--keep', 'keep everything running after the steps, until Ctrl-C')
    .option('--non-interactive', 'never wait once the steps are done (CI); refuses --keep')
    .option('--dir <dir>', 'working directory, new or empty (default: a temporary one, removed afterwards)')
    .option('--registry <mode>', `where to publish: ${REGISTRY_MODES.join(', ')}`, 'auto')
    .option('--no-install', 'do not install what is missing (apt-get, npm ci)')
    .action(
      run(async (ctx, flags: DemoFlags) => {
        const options = parseDemoOptions(flags);
        const { runDemo } = require('../demo/demo-run') as DemoRun;
        const report = await runDemo(options, {
          env: ctx.env,
          ...(ctx.json ? {} : { print: (t: string) => ctx.stdout(t) }),
        });
        ctx.result('', report);
        const failed = report.steps.find((s) => !s.ok);
        if (failed !== undefined) {
          throw new MinerhaulError(
            failed.code ?? 'E_RUNTIME',
            `demo step '${failed.title}' failed: ${failed.detail}`,
          );
        }
      }),
    );
}
