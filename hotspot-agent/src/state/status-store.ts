import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '../util/atomic-write';
import type { AgentStatus, HistoryEntry } from './agent-status';

/** How many cycles GET /v1/history remembers. */
export const HISTORY_LIMIT = 200;

/** The agent's own files under <stateDir>/agent (the engine keeps its journal beside it). */
export function agentDir(stateDir: string): string {
  return join(stateDir, 'agent');
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A corrupt file (impossible with atomic writes, unless the disk lies) is treated as absent.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Status and history on disk, so `agent status` works from another process and across restarts. */
export class StatusStore {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = agentDir(stateDir);
  }

  readStatus(): Promise<AgentStatus | undefined> {
    return readJson<AgentStatus>(join(this.dir, 'status.json'));
  }

  async writeStatus(status: AgentStatus): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWriteFile(join(this.dir, 'status.json'), JSON.stringify(status, null, 2) + '\n', 0o644);
  }

  async readHistory(): Promise<HistoryEntry[]> {
    const list = await readJson<unknown>(join(this.dir, 'history.json'));
    return Array.isArray(list) ? (list as HistoryEntry[]) : [];
  }

  /** Appends an entry, keeping the newest HISTORY_LIMIT. */
  async appendHistory(entry: HistoryEntry): Promise<void> {
    const list = await this.readHistory();
    list.push(entry);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await atomicWriteFile(join(this.dir, 'history.json'), JSON.stringify(list.slice(-HISTORY_LIMIT)), 0o644);
  }
}
