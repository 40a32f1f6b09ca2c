import type { Command } from 'commander';
import { MinerhaulError } from '@minerhaul/signing';
import type { ActionRunner } from '../main';

type Fleet = typeof import('@minerhaul/fleet');
// Lazy: `minerhaul --help` and the agent never load express, SQLite or pg.
const fleetPackage = (): Fleet => require('@minerhaul/fleet') as Fleet;

interface ServeFlags {
  db?: string;
  listen?: string;
  config?: string;
}

interface SimulateFlags {
  url: string;
  devices: string;
  duration?: string;
  concurrency?: string;
  rate?: string;
  maxReports?: string;
  customShare?: string;
  failureShare?: string;
  silentShare?: string;
  seed?: string;
}

function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new MinerhaulError('E_CONFIG', `--${name} must be a whole number, got '${value}'`);
  return Number(value);
}

function fraction(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) {
    throw new MinerhaulError('E_CONFIG', `--${name} must be a number from 0 to 1, got '${value}'`);
  }
  return n;
}

/** Resolves when the process is asked to stop (SIGINT, SIGTERM). */
function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

/** fleet serve, fleet simulate. */
export function registerFleetCommands(program: Command, run: ActionRunner): void {
  const fleet = program
    .command('fleet')
    .description('the adoption server, its dashboard and a load generator');

  fleet
    .command('serve')
    .description('run the adoption server (admin token from MINERHAUL_FLEET_ADMIN_TOKEN)')
    .option('--db <url>', 'sqlite:PATH (default sqlite:minerhaul-fleet.db) or postgres://…')
    .option('--listen <addr>', 'HOST:PORT to listen on (default 127.0.0.1:8080)')
    .option('--config <file>', 'JSON config file (docs/fleet-admin-guide.md)')
    .action(
      run(async (ctx, flags: ServeFlags) => {
        const f = fleetPackage();
        const config = flags.config !== undefined ? f.loadFleetConfig(flags.config) : {};
        const merged = {
          ...config,
          ...(flags.db !== undefined ? { db: flags.db } : {}),
          ...(flags.listen !== undefined ? { listen: flags.listen } : {}),
        };
        const started = await f.startFleetServer(merged, ctx.env, (err) => {
          const message = err instanceof Error ? err.message : String(err);
          ctx.stderr(JSON.stringify({ level: 'error', time: new Date().toISOString(), msg: message }) + '\n');
        });
        if (started.generatedToken !== undefined) {
          // Secrets never go to stdout (it may be collected); stderr, once, for a first run.
          ctx.stderr(
            `no admin token configured: generated one for this run (set ${f.ADMIN_TOKEN_ENV} to keep one):\n` +
              `${started.generatedToken}\n`,
          );
        }
        ctx.result(`fleet server listening on ${started.url} (schema version ${started.schemaVersion})`, {
          url: started.url,
          schemaVersion: started.schemaVersion,
        });
        await stopRequested();
        await started.fleet.close();
      }),
    );

  fleet
    .command('simulate')
    .description('send signed reports from N simulated devices along an adoption curve (demos, load tests)')
    .requiredOption('--url <url>', 'fleet server base URL')
    .requiredOption('--devices <n>', 'number of simulated devices, each with its own key')
    .option('--duration <seconds>', 'run time (default 30, at most 3600)')
    .option('--concurrency <n>', 'requests in flight (default 32)')
    .option('--rate <perSecond>', 'reports per second over all devices; 0 = as fast as possible (default)')
    .option('--max-reports <n>', 'stop after this many reports')
    .option('--custom-share <f>', 'share of devices on a custom source (default 0.1)')
    .option('--failure-share <f>', 'share of devices that fail or roll back (default 0.04)')
    .option('--silent-share <f>', 'share of devices that go silent half-way (default 0.05)')
    .option('--seed <n>', 'random seed (default 1)')
    .action(
      run(async (ctx, flags: SimulateFlags) => {
        const f = fleetPackage();
        const d = f.DEFAULT_SIMULATE_OPTIONS;
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        try {
          const r = await f.simulateFleet({
            url: flags.url,
            devices: int('devices', flags.devices, 0),
            durationSeconds: int('duration', flags.duration, d.durationSeconds),
            concurrency: int('concurrency', flags.concurrency, d.concurrency),
            ratePerSecond: int('rate', flags.rate, d.ratePerSecond),
            maxReports: int('max-reports', flags.maxReports, d.maxReports),
            customShare: fraction('custom-share', flags.customShare, d.customShare),
            failureShare: fraction('failure-share', flags.failureShare, d.failureShare),
            silentShare: fraction('silent-share', flags.silentShare, d.silentShare),
            seed: int('seed', flags.seed, d.seed),
            signal: stop.signal,
          });
          const refused = Object.entries(r.refusedByReason)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ');
          ctx.result(
            `${r.devices} devices, ${r.sent} reports in ${r.seconds.toFixed(1)} s: ${r.accepted} accepted ` +
              `(${r.acceptedPerSecond.toFixed(0)}/s), ${r.refused} refused${refused ? ` (${refused})` : ''}, ` +
              `${r.failed} failed; latency p50 ${r.latencyMs.p50.toFixed(1)} ms, p95 ${r.latencyMs.p95.toFixed(1)} ms`,
            r,
          );
          if (r.accepted === 0) {
            throw new MinerhaulError('E_CONFIG', `no report was accepted by ${flags.url}`, {
              details: { result: r },
            });
          }
        } finally {
          process.off('SIGINT', onSignal);
        }
      }),
    );
}
