import { isMinerhaulError } from '@minerhaul/signing';
import { type CreateUpdateEngineInput, createUpdateEngine } from '@minerhaul/updater';

/**
 * The engine in its own process, for the crash-recovery tests: `check` runs one cycle, `start` only
 * the recovery. MINERHAUL_CRASH_AT=<journal step> makes it SIGKILL itself right after journalling
 * that step. Prints one JSON line: the result, or the error code.
 */
async function run(): Promise<void> {
  const [action, configJson] = process.argv.slice(2);
  const input = JSON.parse(configJson ?? '{}') as CreateUpdateEngineInput;
  const crashAt = process.env.MINERHAUL_CRASH_AT;
  const engine = createUpdateEngine({ ...input, ...(crashAt ? { crashAt } : {}) });
  try {
    if (action === 'start') await engine.start();
    else await engine.check();
    process.stdout.write(JSON.stringify({ ok: true, status: engine.status() }) + '\n');
  } catch (err) {
    const code = isMinerhaulError(err) ? err.code : 'E_INTERNAL';
    process.stdout.write(
      JSON.stringify({ ok: false, code, message: String(err), status: engine.status() }) + '\n',
    );
    process.exitCode = 1;
  }
}

void run();
