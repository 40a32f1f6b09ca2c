/** A cron expression expanded into the values each field allows (node-cron's `parse` output). */
export interface CronFields {
  second: number[];
  minute: number[];
  hour: number[];
  dayOfMonth: (number | string)[];
  month: number[];
  dayOfWeek: (number | string)[];
}

/** The search stops after a year and a day: an expression like "0 0 31 2 *" never fires. */
const MAX_MINUTES = 367 * 24 * 60;

/**
 * The first time after `after` (local time, second precision) that `fields` match, or undefined when
 * none comes within a year. Day-of-month and day-of-week combine as in Vixie cron: when both are
 * restricted, either one matching is enough.
 */
export function nextCronRun(fields: CronFields, after: Date): Date | undefined {
  const seconds = new Set(fields.second);
  const minutes = new Set(fields.minute);
  const hours = new Set(fields.hour);
  const months = new Set(fields.month);
  const doms = new Set(fields.dayOfMonth.filter((d): d is number => typeof d === 'number'));
  // Sunday may be written 0 or 7.
  const dows = new Set(fields.dayOfWeek.filter((d): d is number => typeof d === 'number').map((d) => d % 7));
  const domRestricted = doms.size < 31;
  const dowRestricted = dows.size < 7;
  const dayMatches = (t: Date): boolean => {
    const dom = doms.has(t.getDate());
    const dow = dows.has(t.getDay());
    if (domRestricted && dowRestricted) return dom || dow;
    return dom && dow;
  };
  const sortedSeconds = [...seconds].sort((a, b) => a - b);
  const t = new Date(after.getTime());
  t.setMilliseconds(0);
  t.setSeconds(t.getSeconds() + 1);
  for (let i = 0; i < MAX_MINUTES; i++) {
    if (
      months.has(t.getMonth() + 1) &&
      dayMatches(t) &&
      hours.has(t.getHours()) &&
      minutes.has(t.getMinutes())
    ) {
      const second = sortedSeconds.find((s) => s >= t.getSeconds());
      if (second !== undefined) {
        t.setSeconds(second);
        return t;
      }
    }
    t.setSeconds(0);
    t.setMinutes(t.getMinutes() + 1);
  }
  return undefined;
}

/** Whether every field is plain numbers (no L, W or # forms), so nextCronRun understands it. */
export function isPlainCron(fields: CronFields): boolean {
  return [fields.dayOfMonth, fields.dayOfWeek].every((list) => list.every((v) => typeof v === 'number'));
}
