import { execFileSync } from 'node:child_process';

/**
 * Returns the absolute path of a system program the test needs. A missing tool fails the test
 * loudly (never a silent skip): run .ci/install-system-packages.
 */
export function requireTool(name: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`required program '${name}' is not installed: run .ci/install-system-packages`);
  }
}
