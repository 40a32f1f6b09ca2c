import type { AdoptionReport } from '@minerhaul/fleet';
import type { DemoRegistry } from './registry-start';
import type { StepResult } from './step-runner';

/** What `minerhaul --json demo` prints. */
export interface DemoReport {
  ok: boolean;
  dir: string;
  /** The working directory is left on disk (--dir given, or a step failed: its logs are there). */
  dirKept: boolean;
  registry?: { kind: DemoRegistry['kind']; ref: string; fallbackReason?: string };
  dashboard?: { url: string; adminTokenFile: string };
  steps: StepResult[];
  skipped: string[];
  adoption?: AdoptionReport;
}
