import { nextCronRun, nodeCronTrigger, validateCron } from '@minerhaul/hotspot-agent';

// Local times: the agent follows the device's clock and time zone, as cron does.
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s);

describe('nextCronRun', () => {
  describe('when given node-cron parsed fields', () => {
    it.each([
      ['*/15 * * * *', at(2026, 11, 21, 10, 7, 30), at(2026, 11, 21, 10, 15)],
      ['*/15 * * * *', at(2026, 11, 21, 10, 15, 0), at(2026, 11, 21, 10, 30)],
      ['0 3 * * *', at(2026, 11, 21, 10, 0), at(2026, 11, 22, 3, 0)],
      ['30 2 1 * *', at(2026, 12, 5), at(2027, 1, 1, 2, 30)],
      ['0 12 * * 1', at(2026, 11, 21, 13), at(2026, 11, 23, 12)], // the 21st is a Saturday
      ['0 0 13 * 5', at(2026, 11, 21), at(2026, 11, 27)], // day 13 OR Friday: Friday 27th comes first
      ['*/20 * * * * *', at(2026, 11, 21, 10, 0, 41), at(2026, 11, 21, 10, 1, 0)],
      ['0 0 29 2 *', at(2026, 3, 1), undefined], // next Feb 29 is beyond a year
    ])('returns the first run of %s after %s', (expression, after, expected) => {
      expect(nextCronRun(validateCron(expression), after)).toEqual(expected);
    });
  });
});

describe('validateCron', () => {
  it.each(['every minute', '61 * * * *', '* * * *  * * *'])('refuses %j with E_CONFIG', (expression) => {
    expect(() => validateCron(expression)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});

describe('nodeCronTrigger', () => {
  it('returns a trigger that can be stopped before its first tick', () => {
    let ticks = 0;
    const trigger = nodeCronTrigger('* * * * * *', () => (ticks += 1));
    trigger.stop();
    expect(ticks).toBe(0);
  });

  it('ticks on the schedule', async () => {
    let ticks = 0;
    // cron follows the wall clock: bound the ticks by the wall-clock seconds that really passed
    // (a loaded CI machine can stretch a 2.2 s timer, and a second may start twice per boundary).
    const started = Date.now();
    const trigger = nodeCronTrigger('* * * * * *', () => (ticks += 1));
    await new Promise((r) => setTimeout(r, 2200));
    trigger.stop();
    const seconds = (Date.now() - started) / 1000;
    expect(ticks).toBeGreaterThanOrEqual(1);
    expect(ticks).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
  });
});
