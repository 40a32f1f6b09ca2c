import { readFileSync } from 'node:fs';
import { atomicWriteFile } from '../util/atomic-write';

/**
 * Nonces of accepted owner requests, each kept until its timestamp leaves the acceptance window:
 * a captured request is refused while its timestamp would still pass. Persisted, so restarting the
 * agent does not reopen the window (docs/decisions/0502-owner-signed-requests.md).
 */
export class NonceStore {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly file: string | undefined,
    private readonly maxEntries = 10_000,
  ) {
    if (file === undefined) return;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      for (const [nonce, until] of Object.entries(saved)) {
        if (typeof until === 'number') this.seen.set(nonce, until);
      }
    } catch {
      // No file yet, or unreadable: start empty (timestamps still bound replays to the window).
    }
  }

  has(nonce: string, nowSeconds: number): boolean {
    this.prune(nowSeconds);
    return this.seen.has(nonce);
  }

  /** Remembers `nonce` until `untilSeconds`; false when the store is full (refuse the request). */
  async remember(nonce: string, untilSeconds: number, nowSeconds: number): Promise<boolean> {
    this.prune(nowSeconds);
    if (this.seen.size >= this.maxEntries) return false;
    this.seen.set(nonce, untilSeconds);
    if (this.file !== undefined)
      await atomicWriteFile(this.file, JSON.stringify(Object.fromEntries(this.seen)));
    return true;
  }

  private prune(nowSeconds: number): void {
    for (const [nonce, until] of this.seen) if (until < nowSeconds) this.seen.delete(nonce);
  }
}
