import { isMinerhaulError } from '@minerhaul/signing';

function codeOfError(err: unknown): string {
  return isMinerhaulError(err) ? err.code : `not a MinerhaulError: ${String(err)}`;
}

/** The MinerhaulError code `fn` throws, `undefined` when it returns (tests assert on codes, not messages). */
export function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return codeOfError(err);
  }
  return undefined;
}

/** The same for a promise or an async function: the code it rejects with, `undefined` when it resolves. */
export async function rejectedCode(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return codeOfError(err);
  }
  return undefined;
}
