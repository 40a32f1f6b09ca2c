// Entry of the unpack worker thread (docs/decisions/0307): applies one layer at a time from the
// compressed bytes its caller places in a shared ring. The caller keeps download, digest check and
// blob store; this thread decompresses, hashes the diff_id, parses and writes.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { applyLayerStream } from './apply-layer-stream';
import { ChunkQueue } from './chunk-queue';
import { EarlyWriteback } from './early-writeback';
import { serializeError, type FromWorker, type LayerJob, type ToWorker } from './worker-protocol';
import { WrittenReporter } from './written-reporter';

interface RunningLayer {
  queue: ChunkQueue;
  reporter: WrittenReporter | undefined;
  abort(): void;
}

/** Two flushes at a time: the thread pool is shared with zlib and the blob store's writes. */
const FLUSHES_IN_FLIGHT = 2;

function serve(port: MessagePort): void {
  // One for the thread's lifetime: a layer's last flushes overlap the next layer (layer-applier.ts).
  const writeback = new EarlyWriteback(FLUSHES_IN_FLIGHT);
  const post = (message: FromWorker): void => port.postMessage(message);
  let current: RunningLayer | undefined;

  const start = (job: LayerJob, ring: SharedArrayBuffer): RunningLayer => {
    const controller = new AbortController();
    const queue = new ChunkQueue(ring, (regions) => post({ type: 'consumed', regions }));
    const reporter = job.reportWritten ? new WrittenReporter(post) : undefined;
    const layer: RunningLayer = {
      queue,
      reporter,
      abort: () => {
        const reason = Object.assign(new Error('unpack aborted by its caller'), { name: 'AbortError' });
        controller.abort(reason);
        queue.fail(reason);
        reporter?.fail(reason);
      },
    };
    const { reportWritten: _reportWritten, earlyWriteback, ...options } = job;
    applyLayerStream(queue, {
      ...options,
      signal: controller.signal,
      onWritten: reporter?.onWritten,
      onInputReleased: (bytes) => queue.release(bytes),
      ...(earlyWriteback ? { writeback } : {}),
      // This thread does nothing else: synchronous writes skip the thread pool's hand-offs.
      syncWrites: true,
    })
      .then(async (result) => {
        await reporter?.flush();
        current = undefined;
        post({ type: 'done', result });
      })
      .catch((err: unknown) => {
        // applyLayerStream settles its writes before it rejects: nothing lands after this message.
        current = undefined;
        post({ type: 'failed', error: serializeError(err) });
      });
    return layer;
  };

  // Messages for a layer that already ended (regions in flight, a late verdict) are dropped.
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'start':
        current = start(message.job, message.ring);
        break;
      case 'chunk':
        current?.queue.push({ offset: message.offset, length: message.length });
        break;
      case 'end':
        current?.queue.end();
        break;
      case 'abort':
        current?.abort();
        break;
      case 'verdict':
        current?.reporter?.verdict(message.id);
        break;
    }
  });
}

if (parentPort === null) throw new Error('layer-worker runs as a worker thread only');
serve(parentPort);
