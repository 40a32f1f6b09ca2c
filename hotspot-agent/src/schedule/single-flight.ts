/** Runs at most one `fn` at a time: a caller arriving during a run shares that run's result. */
export class SingleFlight<T> {
  private running: Promise<T> | undefined;

  constructor(private readonly fn: () => Promise<T>) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  run(): Promise<T> {
    this.running ??= this.fn().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
