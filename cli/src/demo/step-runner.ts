import { isMinerhaulError, type ErrorCode } from '@minerhaul/signing';

/** What a step hands back when it went as expected. */
export interface StepOutput {
  detail: string;
  /** Commands it ran, as a user would type them. */
  commands?: string[];
  /** Lines shown under the step (a URL, a table). */
  notes?: string[];
  data?: Record<string, unknown>;
}

/** One step as printed and as `--json` reports it. */
export interface StepResult {
  id: string;
  title: string;
  ok: boolean;
  detail: string;
  seconds: number;
  code?: ErrorCode;
  commands?: string[];
  data?: Record<string, unknown>;
}

export interface StepRunnerOptions {
  /** Human output (absent with --json: then only the final JSON is printed). */
  print?: (text: string) => void;
  now?: () => number;
}

/**
 * Runs the demo's steps in order, printing ✔ or ✘ with what happened. After a failed step the
 * following ones are skipped (each builds on the one before), except those marked `always` (teardown).
 */
export class StepRunner {
  readonly results: StepResult[] = [];
  readonly skipped: string[] = [];
  private readonly now: () => number;

  constructor(private readonly options: StepRunnerOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  get failed(): StepResult | undefined {
    return this.results.find((r) => !r.ok);
  }

  /** Prints a line in human mode only. */
  say(text: string): void {
    this.options.print?.(`${text}\n`);
  }

  async step(
    id: string,
    title: string,
    run: () => Promise<StepOutput>,
    options: { always?: boolean } = {},
  ): Promise<boolean> {
    if (this.failed !== undefined && !options.always) {
      this.skipped.push(id);
      return false;
    }
    const started = this.now();
    let result: StepResult;
    let notes: string[] = [];
    try {
      const out = await run();
      notes = out.notes ?? [];
      result = {
        id,
        title,
        ok: true,
        detail: out.detail,
        seconds: (this.now() - started) / 1000,
        ...(out.commands ? { commands: out.commands } : {}),
        ...(out.data ? { data: out.data } : {}),
      };
    } catch (err) {
      result = {
        id,
        title,
        ok: false,
        detail: err instanceof Error ? err.message : String(err),
        seconds: (this.now() - started) / 1000,
        code: isMinerhaulError(err) ? err.code : 'E_RUNTIME',
        ...(isMinerhaulError(err) && err.details ? { data: err.details } : {}),
      };
    }
    this.results.push(result);
    this.print(result, notes);
    return result.ok;
  }

  private print(r: StepResult, notes: string[]): void {
    const mark = r.ok ? '✔' : '✘';
    const code = r.ok ? '' : `error[${r.code}]: `;
    this.say(`${mark} ${r.title}: ${code}${r.detail} (${r.seconds.toFixed(1)} s)`);
    for (const c of r.commands ?? []) this.say(`    $ ${c}`);
    for (const n of notes) for (const line of n.split('\n')) this.say(`    ${line}`);
  }
}
