import type { Logger } from 'pino';
import { postJson, type PostResult } from './http-post';
import { REPORTS_PATH } from './device-report';
import type { ReportQueue } from './report-queue';
import type { SignedReport } from './report-signer';

export type PostFn = (
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
) => Promise<PostResult>;

export interface FlushResult {
  sent: number;
  refused: number;
  pending: number;
}

/**
 * Sends reports through the on-disk queue: every report is queued first, then the queue is flushed in
 * order. A network failure, 429 or 5xx stops the flush and keeps the rest for later; any other 4xx
 * means the fleet will never take that report (bad signature, replay): it is dropped and logged.
 */
export class ReportSender {
  private flushing: Promise<FlushResult> | undefined;

  constructor(
    private readonly fleetUrl: string,
    private readonly queue: ReportQueue,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'debug'>,
    private readonly post: PostFn = postJson,
    private readonly timeoutMs = 15_000,
  ) {}

  async send(report: SignedReport): Promise<FlushResult> {
    await this.queue.push(report);
    return this.flush();
  }

  /** One flush at a time; a caller arriving during a flush waits for it. */
  flush(): Promise<FlushResult> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushOnce(): Promise<FlushResult> {
    const url = this.fleetUrl.replace(/\/+$/, '') + REPORTS_PATH;
    const entries = await this.queue.list();
    let sent = 0;
    let refused = 0;
    for (const [index, { id, report }] of entries.entries()) {
      let result: PostResult;
      try {
        result = await this.post(url, report.body, report.headers, this.timeoutMs);
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message, pending: entries.length - index },
          'fleet unreachable; reports kept',
        );
        return { sent, refused, pending: entries.length - index };
      }
      if (result.status >= 200 && result.status < 300) {
        sent += 1;
        await this.queue.drop(id);
      } else if (result.status === 429 || result.status >= 500 || result.status === 408) {
        this.log.warn({ status: result.status, pending: entries.length - index }, 'fleet busy; reports kept');
        return { sent, refused, pending: entries.length - index };
      } else {
        refused += 1;
        this.log.warn(
          { status: result.status, answer: result.body.slice(0, 300) },
          'fleet refused a report; dropped',
        );
        await this.queue.drop(id);
      }
    }
    if (sent > 0) this.log.debug({ sent }, 'reports delivered');
    return { sent, refused, pending: 0 };
  }
}
