import { createJsonProgress } from './json-progress';
import { type TransferProgress, silentProgress } from './transfer-progress';
import { createTtyProgress } from './tty-progress';

export { type TransferProgress, silentProgress } from './transfer-progress';
export { createJsonProgress } from './json-progress';
export { createTtyProgress, formatBytes } from './tty-progress';

/** Bars on a terminal, JSON lines with --json, nothing otherwise (pipes and logs stay clean). */
export function createProgress(options: {
  write: (text: string) => void;
  isTty: boolean;
  json: boolean;
}): TransferProgress {
  if (options.json) return createJsonProgress(options.write);
  if (options.isTty) return createTtyProgress(options.write);
  return silentProgress;
}
