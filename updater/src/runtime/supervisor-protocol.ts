/**
 * Files shared by the agent and the detached miner supervisor, all in the runtime directory
 * (`<stateDir>/bubblewrap`). The agent writes `desired.json` atomically and sends SIGHUP; the supervisor
 * writes `status.json` atomically. Both survive either side being killed (docs/decisions/0351).
 */
export const SUPERVISOR_FILES = {
  script: 'supervisor.js',
  pid: 'supervisor.pid',
  desired: 'desired.json',
  status: 'status.json',
  supervisorLog: 'supervisor.log',
  stdoutLog: 'miner.stdout.log',
  stderrLog: 'miner.stderr.log',
} as const;

export interface ReleaseIdentity {
  digest: string;
  manifestDigest: string;
  version: string;
  sequence: number;
}

/** What the agent wants running. A new `generation` means "switch now", even to the same release. */
export interface DesiredState {
  generation: number;
  stopped: boolean;
  release?: ReleaseIdentity;
  /** Program and arguments (bwrap and its argv). */
  command?: string[];
  uid?: number;
  gid?: number;
  backoff: { initialMs: number; maxMs: number; resetAfterMs: number };
  stopGraceMs: number;
  /** Rotate a log file when it grows beyond this at (re)start. */
  maxLogBytes: number;
}

export type SupervisorPhase = 'running' | 'backoff' | 'stopping' | 'stopped';

export interface SupervisorStatus {
  supervisorPid: number;
  generation: number;
  phase: SupervisorPhase;
  release?: ReleaseIdentity;
  /** Host pid of bwrap while the miner runs. */
  childPid?: number;
  startedAt?: string;
  restartCount: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
  /** When the next restart is due, while in backoff. */
  nextStartAt?: string;
}
