/* istanbul ignore file -- serialised by toString() and run in its own process: coverage counters would break it */
/**
 * The detached miner supervisor. This function is serialised with `Function.prototype.toString()` into
 * `<runtimeDir>/supervisor.js` and run by its own `node` process, started detached (setsid) so that
 * killing the agent, even with SIGKILL, leaves the miner running (docs/decisions/0351).
 *
 * It must therefore be self-contained: Node built-ins only, required inside, nothing from this module's
 * scope. argv: [node, script, runtimeDir, JSON of SUPERVISOR_FILES].
 */
export function supervisorMain(): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const cp = require('node:child_process') as typeof import('node:child_process');

  type Release = { digest: string; manifestDigest: string; version: string; sequence: number };
  type Desired = {
    generation: number;
    stopped: boolean;
    release?: Release;
    command?: string[];
    uid?: number;
    gid?: number;
    backoff: { initialMs: number; maxMs: number; resetAfterMs: number };
    stopGraceMs: number;
    maxLogBytes: number;
  };

  const dir = process.argv[2] ?? '';
  const names = JSON.parse(process.argv[3] ?? '{}') as Record<string, string>;
  const file = (name: string): string => path.join(dir, names[name] ?? name);
  const scriptPath = file('script');
  const log = (msg: string): void =>
    console.log(`${new Date().toISOString()} supervisor[${process.pid}] ${msg}`);

  let desired: Desired | undefined;
  let child: import('node:child_process').ChildProcess | undefined;
  let childGeneration = -1;
  let childRelease: Release | undefined;
  let phase: 'running' | 'backoff' | 'stopping' | 'stopped' = 'stopped';
  let restartCount = 0;
  let consecutiveCrashes = 0;
  let startedAtMs = 0;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let nextStartAt: string | undefined;
  let lastExit: { code: number | null; signal: string | null; at: string } | undefined;
  let terminating = false;

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  function isSupervisor(pid: number): boolean {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(scriptPath);
    } catch {
      return false;
    }
  }

  /** One supervisor per runtime directory: the pid file is created exclusively. */
  function claimPidFile(): boolean {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(file('pid'), String(process.pid), { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const other = Number(fs.readFileSync(file('pid'), 'utf8').trim());
        if (other > 0 && other !== process.pid && alive(other) && isSupervisor(other)) return false;
        fs.rmSync(file('pid'), { force: true });
      }
    }
    return false;
  }

  function writeAtomic(target: string, text: string): void {
    const tmp = `${target}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  }

  function writeStatus(): void {
    const status = {
      supervisorPid: process.pid,
      generation: child ? childGeneration : (desired?.generation ?? -1),
      phase,
      release: child ? childRelease : desired?.release,
      childPid: child?.pid,
      startedAt: child ? new Date(startedAtMs).toISOString() : undefined,
      restartCount,
      lastExit,
      nextStartAt: phase === 'backoff' ? nextStartAt : undefined,
    };
    writeAtomic(file('status'), JSON.stringify(status));
  }

  function readDesired(): Desired | undefined {
    try {
      return JSON.parse(fs.readFileSync(file('desired'), 'utf8')) as Desired;
    } catch {
      return undefined;
    }
  }

  /** Every descendant of `root` (children first-level and below), from /proc. */
  function descendants(root: number): number[] {
    const parentOf = new Map<number, number[]>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Field 4 (ppid) follows the command name, which may itself contain spaces or parentheses.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const list = parentOf.get(ppid) ?? [];
        list.push(Number(entry));
        parentOf.set(ppid, list);
      } catch {
        // The process exited while we looked.
      }
    }
    const found: number[] = [];
    const queue = [root];
    while (queue.length > 0 && found.length < 10_000) {
      for (const pid of parentOf.get(queue.shift() as number) ?? []) {
        found.push(pid);
        queue.push(pid);
      }
    }
    return found;
  }

  function signalAll(pids: number[], signal: NodeJS.Signals): void {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  function rotate(target: string, maxBytes: number): void {
    try {
      if (fs.statSync(target).size > maxBytes) fs.renameSync(target, `${target}.1`);
    } catch {
      // No log yet.
    }
  }

  function start(): void {
    restartTimer = undefined;
    const d = desired;
    if (!d || d.stopped || !d.command || d.command.length === 0 || terminating) return;
    rotate(file('stdoutLog'), d.maxLogBytes);
    rotate(file('stderrLog'), d.maxLogBytes);
    const out = fs.openSync(file('stdoutLog'), 'a');
    const err = fs.openSync(file('stderrLog'), 'a');
    try {
      child = cp.spawn(d.command[0] as string, d.command.slice(1), {
        stdio: ['ignore', out, err],
        uid: d.uid,
        gid: d.gid,
      });
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
    childGeneration = d.generation;
    childRelease = d.release;
    startedAtMs = Date.now();
    phase = 'running';
    const started = child;
    started.on('error', (e) => {
      // A spawn failure (e.g. bwrap missing) may not emit 'exit': handle it as a crash, with backoff.
      log(`spawn failed: ${e.message}`);
      onExit(started, null, null);
    });
    started.on('exit', (code, signal) => onExit(started, code, signal));
    log(`started ${d.release?.version ?? '?'} generation ${d.generation} pid ${started.pid}`);
    writeStatus();
  }

  function onExit(
    exited: import('node:child_process').ChildProcess,
    code: number | null,
    signal: string | null,
  ): void {
    if (exited !== child) return;
    child = undefined;
    if (killTimer) clearTimeout(killTimer);
    killTimer = undefined;
    lastExit = { code, signal, at: new Date().toISOString() };
    log(`miner exited code=${code} signal=${signal}`);
    if (terminating) return finish();
    desired = readDesired() ?? desired;
    const d = desired;
    if (!d || d.stopped) {
      phase = 'stopped';
      return writeStatus();
    }
    if (d.generation !== childGeneration) {
      // A switch: the old miner is gone, the new one starts at once.
      restartCount = 0;
      consecutiveCrashes = 0;
      return start();
    }
    if (Date.now() - startedAtMs >= d.backoff.resetAfterMs) consecutiveCrashes = 0;
    const delay = Math.min(d.backoff.maxMs, d.backoff.initialMs * 2 ** consecutiveCrashes);
    consecutiveCrashes += 1;
    restartCount += 1;
    phase = 'backoff';
    nextStartAt = new Date(Date.now() + delay).toISOString();
    writeStatus();
    restartTimer = setTimeout(start, delay);
  }

  function stopChild(): void {
    const running = child;
    if (!running || running.pid === undefined) return;
    if (phase !== 'stopping') {
      phase = 'stopping';
      writeStatus();
      // SIGTERM the sandboxed processes, not bwrap itself: bwrap dying would SIGKILL them at once
      // (--die-with-parent), denying the miner a clean shutdown. bwrap exits when its command does.
      const inside = descendants(running.pid);
      signalAll(inside.length > 0 ? inside : [running.pid], 'SIGTERM');
    }
    if (!killTimer) {
      killTimer = setTimeout(() => {
        if (running.pid !== undefined) signalAll([running.pid, ...descendants(running.pid)], 'SIGKILL');
      }, desired?.stopGraceMs ?? 10_000);
    }
  }

  function reconcile(): void {
    const d = readDesired();
    if (!d) return;
    const switching = d.generation !== (child ? childGeneration : desired?.generation);
    desired = d;
    if (child) {
      if (d.stopped || d.generation !== childGeneration) stopChild();
      return;
    }
    if (restartTimer && !switching && !d.stopped) return; // still backing off for the same generation
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = undefined;
    if (d.stopped) {
      phase = 'stopped';
      return writeStatus();
    }
    if (switching) {
      restartCount = 0;
      consecutiveCrashes = 0;
    }
    start();
  }

  function finish(): void {
    phase = 'stopped';
    writeStatus();
    try {
      if (Number(fs.readFileSync(file('pid'), 'utf8')) === process.pid) fs.rmSync(file('pid'));
    } catch {
      // Nothing to remove.
    }
    log('supervisor exiting');
    process.exit(0);
  }

  function terminate(): void {
    if (terminating) return;
    terminating = true;
    if (restartTimer) clearTimeout(restartTimer);
    if (child) stopChild();
    else finish();
  }

  if (!claimPidFile()) {
    log('another supervisor is running; exiting');
    process.exit(0);
  }
  process.on('SIGHUP', reconcile);
  process.on('SIGTERM', terminate);
  process.on('SIGINT', terminate);
  log('supervisor started');
  reconcile();
  if (!desired) writeStatus();
  // Keep the event loop alive while idle between commands.
  setInterval(() => undefined, 1 << 30);
}
