import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/** An idle worker is kept this long for the next layer or image, then ended. */
const IDLE_MS = 10_000;

const idle: Array<{ worker: Worker; timer: NodeJS.Timeout }> = [];

/**
 * The worker's entry beside this module: layer-worker.js in the build; from sources (jest, the
 * benches' ts-register) layer-worker.ts, loaded through updater/ts-worker-register.js.
 */
export function unpackWorkerEntry(): { file: string; execArgv?: string[] } {
  if (__filename.endsWith('.ts')) {
    return {
      file: join(__dirname, 'layer-worker.ts'),
      execArgv: ['-r', join(__dirname, '..', '..', 'ts-worker-register.js')],
    };
  }
  return { file: join(__dirname, 'layer-worker.js') };
}

/**
 * A worker thread for one layer: an idle one when there is one (a fresh worker costs ~40 ms to
 * start), else a new one. Throws when the entry file is missing: there is no in-thread fallback.
 */
export function acquireUnpackWorker(): Worker {
  const spare = idle.pop();
  if (spare !== undefined) {
    clearTimeout(spare.timer);
    spare.worker.ref();
    return spare.worker;
  }
  const entry = unpackWorkerEntry();
  const register = entry.execArgv?.[1];
  for (const file of register === undefined ? [entry.file] : [entry.file, register]) {
    if (!existsSync(file)) {
      throw new Error(`unpack worker entry ${file} is missing (build minerhaul: npm run build)`);
    }
  }
  const worker = new Worker(entry.file, entry.execArgv ? { execArgv: entry.execArgv } : {});
  // An idle worker that dies is dropped; while in use its session sees 'error' and 'exit' itself.
  worker.on('error', () => undefined);
  worker.once('exit', () => {
    const i = idle.findIndex((s) => s.worker === worker);
    if (i >= 0) idle.splice(i, 1);
  });
  return worker;
}

/** Returns a worker after its layer ended cleanly; a worker in any doubt is ended instead. */
export function releaseUnpackWorker(worker: Worker, reusable: boolean): void {
  if (!reusable) {
    void worker.terminate();
    return;
  }
  worker.unref();
  const timer = setTimeout(() => void worker.terminate(), IDLE_MS);
  timer.unref();
  idle.push({ worker, timer });
}
