/** Delay before retry number `failures` (1-based): base·2^(failures-1), capped, with ±20 % jitter so a fleet spreads out. */
export function backoffDelayMs(
  failures: number,
  options: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  if (failures <= 0) return 0;
  const exponential = options.baseMs * 2 ** Math.min(failures - 1, 30);
  const capped = Math.min(exponential, options.maxMs);
  const spread = 0.8 + 0.4 * random();
  return Math.round(Math.min(capped * spread, options.maxMs));
}
