import { MinerhaulError } from '../errors';
import { isPlainCron, nextCronRun, type CronFields } from './cron-next';

/** Something that calls `onTick` on a cron schedule until stopped. */
export type CronTrigger = (expression: string, onTick: () => void) => { stop(): void };

type NodeCron = typeof import('node-cron');

/** Parses a cron expression with node-cron; refuses one it cannot run (E_CONFIG with the config path). */
export function validateCron(expression: string): CronFields {
  const cron = require('node-cron') as NodeCron;
  if (!cron.validate(expression)) {
    throw new MinerhaulError('E_CONFIG', `/schedule/cron: '${expression}' is not a valid cron expression`, {
      details: { errors: ['/schedule/cron: must be a cron expression'] },
    });
  }
  return cron.parse(expression);
}

/** setTimeout cannot wait longer than 2^31-1 ms; longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Cron ticks from node-cron's parser and one timer to the next run. node-cron's own scheduler is
 * used only for expressions with L/W/# forms: starting one of its tasks costs ~8 MiB of RSS (it
 * formats dates through Intl), an eighth of the agent's idle budget (docs/performance.md "Agent").
 */
export const nodeCronTrigger: CronTrigger = (expression, onTick) => {
  const fields = validateCron(expression);
  if (!isPlainCron(fields)) {
    const task = (require('node-cron') as NodeCron).schedule(expression, onTick);
    return { stop: () => void task.stop() };
  }
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    const next = nextCronRun(fields, new Date());
    if (next === undefined) return;
    const wait = (): void => {
      const delay = next.getTime() - Date.now();
      if (delay > MAX_TIMER_MS) {
        timer = setTimeout(wait, MAX_TIMER_MS);
        return;
      }
      timer = setTimeout(
        () => {
          if (stopped) return;
          onTick();
          arm();
        },
        Math.max(0, delay),
      );
    };
    wait();
  };
  arm();
  return {
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
};
