import { execFile } from 'node:child_process';
import { MinerhaulError } from '@minerhaul/signing';
import { BWRAP_ISOLATION } from './bwrap-args';

const SELF_TEST_TIMEOUT_MS = 10_000;

/**
 * Runs `bwrap … --ro-bind / / true` with the same isolation flags (and host user) the miner gets, so a host
 * where bwrap cannot work (missing, user namespaces disabled, AppArmor's userns restriction) is reported with
 * bwrap's own words before anything is swapped (protocol-reference §6.1 REC).
 */
export function bwrapSelfTest(bwrapPath: string, user?: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      bwrapPath,
      [...BWRAP_ISOLATION, '--ro-bind', '/', '/', 'true'],
      { timeout: SELF_TEST_TIMEOUT_MS, uid: user?.uid, gid: user?.gid, encoding: 'utf8' },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const reason = stderr.trim() || err.message;
        reject(
          new MinerhaulError('E_RUNTIME', `bubblewrap cannot start a sandbox on this host: ${reason}`, {
            cause: err,
            details: { bwrap: bwrapPath, uid: user?.uid, stderr: stderr.trim() },
          }),
        );
      },
    );
  });
}
