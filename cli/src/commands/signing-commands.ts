import type { Command } from 'commander';
import type { ActionRunner } from '../main';

/** key generate, sign-blob, verify-blob. */
export function registerSigningCommands(program: Command, run: ActionRunner): void {
  void program;
  void run;
}
