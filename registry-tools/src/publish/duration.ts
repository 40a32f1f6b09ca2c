import { MinerhaulError } from '@minerhaul/signing';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * `--expires`: a duration from now (`90d`, `12h`, `2w`, `30m`, `45s`) or an RFC 3339 date-time.
 * Returns the absolute expiry.
 */
export function parseExpiry(value: string, now: Date = new Date()): Date {
  const m = /^(\d{1,6})([smhdw])$/.exec(value);
  if (m) {
    const seconds = Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 0);
    if (seconds <= 0) throw new MinerhaulError('E_CONFIG', `--expires ${value} must be in the future`);
    return new Date(Math.floor(now.getTime() / 1000) * 1000 + seconds * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new MinerhaulError('E_CONFIG', `invalid --expires '${value}': use e.g. 90d, 12h or an RFC 3339 date`);
}
