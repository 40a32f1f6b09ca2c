import { fetchBounded, waitFor } from './bounded-wait';

/** What the sample miner tells about itself (images/sample-miner/README.md, GET /stats). */
export interface MinerStats {
  version: string;
  height: number;
  uptimeSeconds: number;
}

/** Asks the running sample miner on 127.0.0.1:port; undefined when nothing answers. */
export class MinerProbe {
  constructor(readonly port: number) {}

  async version(): Promise<string | undefined> {
    try {
      const res = await fetchBounded(`http://127.0.0.1:${this.port}/version`, { timeoutMs: 2_000 });
      return res.ok ? (await res.text()).trim() : undefined;
    } catch {
      return undefined;
    }
  }

  async stats(): Promise<MinerStats | undefined> {
    try {
      const res = await fetchBounded(`http://127.0.0.1:${this.port}/stats`, { timeoutMs: 2_000 });
      return res.ok ? ((await res.json()) as MinerStats) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Polls /version until it says `version` (bounded); returns what was last seen ('' for nothing). */
  async waitForVersion(version: string, timeoutMs = 15_000): Promise<string> {
    let seen = '';
    try {
      await waitFor(
        async () => {
          seen = (await this.version()) ?? '';
          return seen === version ? seen : undefined;
        },
        { what: `miner version ${version}`, timeoutMs, intervalMs: 200 },
      );
    } catch {
      // the caller compares what was seen
    }
    return seen;
  }
}
