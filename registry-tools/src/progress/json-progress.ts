import type { Descriptor, ProgressEvent } from '../image-store';
import type { TransferProgress } from './transfer-progress';

/**
 * One JSON object per line (`{"event":"start"|"progress"|"done",...}`), on stderr so that stdout
 * keeps only the command's result. Progress lines are throttled per blob to `intervalMs`.
 */
export function createJsonProgress(
  write: (line: string) => void,
  options: { intervalMs?: number; now?: () => number } = {},
): TransferProgress {
  const interval = options.intervalMs ?? 500;
  const now = options.now ?? Date.now;
  const last = new Map<string, number>();
  const emit = (value: Record<string, unknown>): void => write(JSON.stringify(value) + '\n');
  return {
    start(d: Descriptor) {
      last.set(d.digest, now());
      emit({ event: 'start', digest: d.digest, mediaType: d.mediaType, total: d.size });
    },
    update(e: ProgressEvent) {
      const t = now();
      if (t - (last.get(e.digest) ?? 0) < interval) return;
      last.set(e.digest, t);
      emit({ event: 'progress', digest: e.digest, transferred: e.transferred, total: e.total });
    },
    done(d: Descriptor) {
      last.delete(d.digest);
      emit({ event: 'done', digest: d.digest, total: d.size });
    },
    close: () => undefined,
  };
}
