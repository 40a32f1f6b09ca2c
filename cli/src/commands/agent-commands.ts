import type { Command } from 'commander';
import type { ActionRunner } from '../main';

const DEFAULT_CONFIG = '/etc/minerhaul/agent.json';

/**
 * agent run, agent check, agent status, agent config. The agent package (and through it the engine, express,
 * node-cron) is required inside each action so `minerhaul --help` stays light.
 */
export function registerAgentCommands(program: Command, run: ActionRunner): void {
  const agent = program.command('agent').description('the hotspot agent: daemon, one-shot check, status');

  agent
    .command('run')
    .description('run the hotspot daemon (schedule, local API, reports) until SIGTERM')
    .option('--config <file>', 'agent config (JSON)', DEFAULT_CONFIG)
    .action(
      run(async (_ctx, opts: { config: string }) => {
        const a = require('@minerhaul/hotspot-agent') as typeof import('@minerhaul/hotspot-agent');
        const log = a.createPinoLogger();
        // Engine jobs run in child processes so the resident daemon stays small (decision 0506).
        await a.runDaemonCommand({
          configPath: opts.config,
          log,
          engineFactory: a.childProcessEngineFactory(),
        });
      }),
    );

  agent
    .command('check')
    .description('one check-and-update cycle, then exit (the exit status tells the outcome)')
    .option('--config <file>', 'agent config (JSON)', DEFAULT_CONFIG)
    .action(
      run(async (ctx, opts: { config: string }) => {
        const a = require('@minerhaul/hotspot-agent') as typeof import('@minerhaul/hotspot-agent');
        const log = a.createPinoLogger(ctx.env.MINERHAUL_LOG_LEVEL ?? 'warn');
        const summary = await a.checkOnceCommand({
          configPath: opts.config,
          log,
          engineFactory: a.createAgentEngine,
        });
        const release = summary.release ? ` (${summary.release.version}, ${summary.release.digest})` : '';
        ctx.result(`${summary.outcome}${release}`, summary);
      }),
    );

  agent
    .command('config')
    .description("change the agent's config through its local API, signed with an owner key")
    .requiredOption(
      '--key <file>',
      "the owner's signify secret key (passphrase from MINERHAUL_PASSPHRASE or a prompt)",
    )
    .option('--api <url>', "the agent's local API", 'http://127.0.0.1:7373')
    .argument(
      '<json>',
      'top-level config keys to set, e.g. \'{"source":{"ref":"host/miner:stable"}}\' (null removes)',
    )
    .action(
      run(async (ctx, json: string, opts: { key: string; api: string }) => {
        const { MinerhaulError, decryptSecretKey, secretKeyNeedsPassphrase } =
          require('@minerhaul/signing') as typeof import('@minerhaul/signing');
        const { readFile } = require('node:fs/promises') as typeof import('node:fs/promises');
        const { readPassphrase } = require('../passphrase') as typeof import('../passphrase');
        let patch: unknown;
        try {
          patch = JSON.parse(json);
        } catch (err) {
          throw new MinerhaulError('E_CONFIG', `<json> is not valid JSON: ${(err as Error).message}`);
        }
        let text: string;
        try {
          text = await readFile(opts.key, 'utf8');
        } catch (err) {
          throw new MinerhaulError('E_KEY', `cannot read ${opts.key}: ${(err as Error).message}`);
        }
        const passphrase = secretKeyNeedsPassphrase(text)
          ? await readPassphrase(ctx, 'passphrase: ')
          : undefined;
        const a = require('@minerhaul/hotspot-agent') as typeof import('@minerhaul/hotspot-agent');
        const result = await a.sendOwnerConfig(opts.api, decryptSecretKey(text, passphrase), patch);
        ctx.result(
          result.changed.length > 0 ? `changed: ${result.changed.join(', ')}` : 'nothing changed',
          result,
        );
      }),
    );

  agent
    .command('status')
    .description('what runs now, what ran before, last check, last error')
    .option('--config <file>', 'agent config (JSON)', DEFAULT_CONFIG)
    .action(
      run(async (ctx, opts: { config: string }) => {
        const a = require('@minerhaul/hotspot-agent') as typeof import('@minerhaul/hotspot-agent');
        const view = await a.readAgentStatus(opts.config);
        const human =
          view.status === null
            ? 'the agent has not run yet (no status recorded)'
            : `${view.running ? 'agent running' : 'agent not running'}\n${a.formatStatus(view.status)}`;
        ctx.result(human, view);
      }),
    );
}
