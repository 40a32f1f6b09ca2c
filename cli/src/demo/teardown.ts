export interface TeardownFailure {
  name: string;
  error: string;
}

/**
 * What the demo started, undone in reverse order exactly once, whether the steps end, fail, or a
 * signal (SIGINT, SIGTERM) arrives. A failing undo does not stop the others.
 */
export class Teardown {
  private readonly actions: Array<{ name: string; undo: () => Promise<void>; sync?: () => void }> = [];
  private running: Promise<TeardownFailure[]> | undefined;

  /** `sync` is the last resort for a process `exit` (no promises run there). */
  add(name: string, undo: () => Promise<void>, sync?: () => void): void {
    if (this.running !== undefined) throw new Error(`teardown already started: cannot add ${name}`);
    this.actions.push({ name, undo, ...(sync ? { sync } : {}) });
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  run(): Promise<TeardownFailure[]> {
    this.running ??= (async () => {
      const failures: TeardownFailure[] = [];
      for (const action of [...this.actions].reverse()) {
        try {
          await action.undo();
        } catch (err) {
          failures.push({ name: action.name, error: err instanceof Error ? err.message : String(err) });
        }
      }
      return failures;
    })();
    return this.running;
  }

  /** Synchronous remains of every action (called from process.on('exit')). */
  runSync(): void {
    for (const action of [...this.actions].reverse()) {
      try {
        action.sync?.();
      } catch {
        // best effort: the process is exiting
      }
    }
  }
}

/**
 * Calls `onSignal` on the first SIGINT or SIGTERM, and runs `teardown.runSync()` if the process exits
 * before the teardown finished (an uncaught error). Returns the function that removes the handlers.
 */
export function installSignalHandlers(
  teardown: Teardown,
  onSignal: (signal: NodeJS.Signals) => void,
  target: Pick<NodeJS.Process, 'on' | 'off'> = process,
): () => void {
  let finished = false;
  const onSig = (signal: NodeJS.Signals): void => onSignal(signal);
  const onExit = (): void => {
    if (!finished) teardown.runSync();
  };
  target.on('SIGINT', onSig);
  target.on('SIGTERM', onSig);
  target.on('exit', onExit);
  return () => {
    finished = true;
    target.off('SIGINT', onSig);
    target.off('SIGTERM', onSig);
    target.off('exit', onExit);
  };
}
