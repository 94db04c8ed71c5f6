// A replay's decode worker: reads or is fed one input at a time, decodes and classifies it, and sends the prepared batches back in order.

import { parentPort, workerData } from 'node:worker_threads';
import { prepareBatch } from '../prepare-batch.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './decode-protocol.ts';
import { PARTS_AHEAD } from './decode-protocol.ts';
import { decodeInput, fromIterable, InputFailure, InputReadError, READ_CHUNK_BYTES, readLocalFile } from './replay-input.ts';

const port = parentPort;
if (port === null) throw new Error('decode-worker runs as a worker thread');
const setup = workerData as WorkerSetup;
const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);

const post = (message: FromWorker): void => port.postMessage(message);

/** The chunks of a stream the main thread reads, pulled one at a time (so it reads no further ahead than we decode). */
class PulledStream {
  private readonly id: number;
  private waiting: ((message: ToWorker) => void) | undefined;

  constructor(id: number) {
    this.id = id;
  }

  deliver(message: ToWorker): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(message);
  }

  async *chunks(): AsyncGenerator<Buffer> {
    for (;;) {
      const message = await new Promise<ToWorker>((resolve) => {
        this.waiting = resolve;
        post({ type: 'pull', id: this.id });
      });
      if (message.type === 'chunk') yield Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
      else if (message.type === 'fail') throw new InputReadError(message.reason);
      else return;
    }
  }
}

const streams = new Map<number, PulledStream>();
/** Parts sent and not yet taken, by input: acks for an earlier input may come while the next one is decoded. */
const unacked = new Map<number, number>();
let acked: { readonly id: number; readonly resume: () => void } | undefined;

async function run(id: number, name: string, chunks: AsyncIterable<Buffer>, ends: boolean): Promise<void> {
  let failure: string | undefined;
  try {
    for await (const batch of decodeInput(name, chunks, { ...setup.options, ends }, (bytes) => post({ type: 'bytes', id, bytes }))) {
      post({ type: 'part', id, prepared: prepareBatch(setup.source, batch, setup.ownPath, Date.now()) });
      unacked.set(id, (unacked.get(id) ?? 0) + 1);
      while ((unacked.get(id) ?? 0) >= PARTS_AHEAD) await new Promise<void>((resume) => (acked = { id, resume }));
    }
  } catch (error) {
    failure = error instanceof InputFailure ? error.reason : (error as Error).message;
  } finally {
    streams.delete(id);
  }
  post({ type: 'done', id, failure });
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'file':
      void run(message.id, message.name, fromIterable(readLocalFile(message.path, buffer)), true);
      break;
    case 'stream': {
      const stream = new PulledStream(message.id);
      streams.set(message.id, stream);
      void run(message.id, message.name, stream.chunks(), message.ends);
      break;
    }
    case 'ack': {
      const left = (unacked.get(message.id) ?? 1) - 1;
      if (left > 0) unacked.set(message.id, left);
      else unacked.delete(message.id);
      if (acked?.id === message.id) {
        const { resume } = acked;
        acked = undefined;
        resume();
      }
      break;
    }
    default:
      streams.get(message.id)?.deliver(message);
  }
});
