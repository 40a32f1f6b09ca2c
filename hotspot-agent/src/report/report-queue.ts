import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../util/atomic-write';
import type { SignedReport } from './report-signer';

/**
 * Signed reports waiting for the fleet, one file each, sent oldest first. Bounded: past `limit` the
 * oldest are dropped (the newest report says the most; the fleet needs no complete history).
 */
export class ReportQueue {
  private counter = 0;

  constructor(
    private readonly dir: string,
    private readonly limit: number,
  ) {}

  async push(report: SignedReport): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = await this.names();
    const last = names.at(-1);
    this.counter = Math.max(this.counter, last === undefined ? 0 : Number.parseInt(last, 10)) + 1;
    await atomicWriteFile(
      join(this.dir, `${String(this.counter).padStart(12, '0')}.json`),
      JSON.stringify(report),
    );
    const excess = names.length + 1 - this.limit;
    for (const name of names.slice(0, Math.max(0, excess))) await this.drop(name);
  }

  /**
   * Queued entries, oldest first. An entry that is not a queued report is dropped; one that cannot be
   * read right now (EIO, EACCES) stays for a later try, so a passing fault loses no report.
   */
  async list(): Promise<{ id: string; report: SignedReport }[]> {
    const out: { id: string; report: SignedReport }[] = [];
    for (const name of await this.names()) {
      let text: string;
      try {
        text = await readFile(join(this.dir, name), 'utf8');
      } catch {
        continue;
      }
      const report = parseQueued(text);
      if (report !== undefined) out.push({ id: name, report });
      else await this.drop(name);
    }
    return out;
  }

  async drop(id: string): Promise<void> {
    await unlink(join(this.dir, id)).catch(() => undefined);
  }

  async size(): Promise<number> {
    return (await this.names()).length;
  }

  private async names(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => /^\d{12}\.json$/.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

function parseQueued(text: string): SignedReport | undefined {
  try {
    const report = JSON.parse(text) as SignedReport;
    return typeof report.body === 'string' && typeof report.headers === 'object' ? report : undefined;
  } catch {
    return undefined;
  }
}
