import type { Descriptor, ProgressEvent } from '../image-store';

/** What copy and push report while moving blobs; one implementation per output mode. */
export interface TransferProgress {
  /** A blob is about to move (or be found present). */
  start(descriptor: Descriptor): void;
  update(event: ProgressEvent): void;
  /** The blob is in the destination. */
  done(descriptor: Descriptor): void;
  /** All transfers ended (successfully or not): release the terminal. */
  close(): void;
}

export const silentProgress: TransferProgress = {
  start: () => undefined,
  update: () => undefined,
  done: () => undefined,
  close: () => undefined,
};
