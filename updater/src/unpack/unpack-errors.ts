import { MinerhaulError } from '@minerhaul/signing';

/** A hostile or malformed layer entry: the whole layer is refused (docs/security-unpack.md). */
export function unsafeArchive(message: string, details?: Record<string, unknown>): MinerhaulError {
  return new MinerhaulError('E_UNSAFE_ARCHIVE', message, { details });
}

/** Maps the kernel's "disk full" errors to E_NO_SPACE; anything else is returned unchanged. */
export function mapFsError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new MinerhaulError('E_NO_SPACE', `no space left while writing ${path}`, {
      cause: err,
      details: { path },
    });
  }
  return err;
}
