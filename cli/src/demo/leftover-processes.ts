import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** Every process visible in /proc, with its parent and command line. */
export function listProcesses(procRoot = '/proc'): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`${procRoot}/${name}/stat`, 'utf8');
      // Field 4 (ppid) comes after the command name in parentheses, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`${procRoot}/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: Number(name), ppid, cmdline });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/**
 * Processes that belong to the demo: any whose command line names its working directory (registry,
 * fleet, agent, the miner's supervisor and bwrap all do) and all their descendants (the sandboxed
 * miner's own command line is /opt/miner/…). The demo itself (`self`) and its ancestors (a shell, npm,
 * `timeout` that started it with `--dir`) are not the demo's to stop.
 */
export function findDemoProcesses(processes: ProcessEntry[], dir: string, self: number): ProcessEntry[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const excluded = new Set<number>();
  for (let pid: number | undefined = self; pid !== undefined && pid > 0 && !excluded.has(pid);) {
    excluded.add(pid);
    pid = byPid.get(pid)?.ppid;
  }
  const children = new Map<number, ProcessEntry[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found = new Map<number, ProcessEntry>();
  const visit = (p: ProcessEntry): void => {
    if (excluded.has(p.pid) || found.has(p.pid)) return;
    found.set(p.pid, p);
    for (const c of children.get(p.pid) ?? []) visit(c);
  };
  // `dir/…` or `dir` as a whole word: /tmp/demo-ab must not match /tmp/demo-abc.
  const names = (cmdline: string): boolean =>
    `${cmdline} `.includes(`${dir}/`) || `${cmdline} `.includes(`${dir} `);
  for (const p of processes) if (names(p.cmdline)) visit(p);
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}
