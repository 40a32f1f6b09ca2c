import type { Descriptor, ProgressEvent } from '../image-store';
import type { TransferProgress } from './transfer-progress';

const BAR_WIDTH = 30;
/** Redraw at most this often: a terminal cannot show more and redraws cost CPU on a 2-core box. */
const REDRAW_MS = 100;

interface Row {
  digest: string;
  transferred: number;
  total: number;
  done: boolean;
}

/**
 * Progress bars, one line per blob, redrawn in place with ANSI cursor movement
 * (`ESC[<n>A` up, `ESC[2K` erase line). Only used when the output is a terminal.
 */
export function createTtyProgress(
  write: (text: string) => void,
  options: { now?: () => number } = {},
): TransferProgress {
  const now = options.now ?? Date.now;
  const rows: Row[] = [];
  let drawn = 0;
  let lastDraw = 0;
  /** Something changed since the last draw (throttled updates may be pending). */
  let dirty = false;

  const draw = (force: boolean): void => {
    const t = now();
    dirty = true;
    if (!force && t - lastDraw < REDRAW_MS) return;
    lastDraw = t;
    dirty = false;
    let out = drawn > 0 ? `\u001b[${drawn}A` : '';
    for (const row of rows) out += `\u001b[2K${formatRow(row)}\n`;
    drawn = rows.length;
    write(out);
  };

  const find = (digest: string): Row | undefined => rows.find((r) => r.digest === digest);
  return {
    start(d: Descriptor) {
      if (!find(d.digest)) rows.push({ digest: d.digest, transferred: 0, total: d.size, done: false });
      draw(true);
    },
    update(e: ProgressEvent) {
      const row = find(e.digest);
      if (!row) return;
      row.transferred = e.transferred;
      row.total = e.total;
      draw(false);
    },
    done(d: Descriptor) {
      const row = find(d.digest);
      if (!row) return;
      row.done = true;
      row.transferred = row.total;
      draw(true);
    },
    close() {
      if (dirty) draw(true);
    },
  };
}

function formatRow(row: Row): string {
  const short = row.digest.replace(/^sha256:/, '').slice(0, 12);
  const fraction = row.total > 0 ? Math.min(1, row.transferred / row.total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = '='.repeat(filled) + ' '.repeat(BAR_WIDTH - filled);
  const state = row.done ? 'done' : `${Math.floor(fraction * 100)}%`;
  return `${short} [${bar}] ${formatBytes(row.transferred)}/${formatBytes(row.total)} ${state}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
