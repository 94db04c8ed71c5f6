// Where a replay's inputs are decoded: on the main thread (--jobs 1), or in a pool of worker threads (--jobs N).
//
// Either way an input becomes its prepared batches in order, then its end or its failure;
// the caller commits them input after input, so what is counted is the same for any N.

import { Worker } from 'node:worker_threads';
import type { OwnPath } from '../classify/pipeline-change.ts';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import type { PreparedBatch } from '../prepare-batch.ts';
import { prepareBatch, revivePreparedBatch } from '../prepare-batch.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './decode-protocol.ts';
import type { ReplayInput } from './replay-input.ts';
import { decodeInput, fromIterable, InputFailure, READ_CHUNK_BYTES, readFailureReason, readLocalFile } from './replay-input.ts';

/** Opens what the main thread reads itself: stdin, an S3 object's body. */
export type OpenStream = (input: ReplayInput) => AsyncIterable<Buffer> | Promise<AsyncIterable<Buffer>>;

export interface InputDecoder {
  /** How many inputs may be decoding at once. */
  readonly concurrency: number;
  /** Starts decoding `input` (at once, or when iterated); its parts in order; throws {@link InputFailure} after them when it fails. */
  start(input: ReplayInput): AsyncIterable<PreparedBatch>;
  close(): Promise<void>;
}

export interface DecoderSetup {
  readonly options: RecordStreamOptions;
  readonly ownPath: OwnPath;
  readonly source: string;
  readonly openStream: OpenStream;
  /** Told of each input's bytes (as stored) as they are read. */
  readonly onBytes?: (bytes: number) => void;
}

/** --jobs 1: each input decoded on the main thread when its turn comes. */
export class InlineDecoder implements InputDecoder {
  readonly concurrency = 1;
  private readonly setup: DecoderSetup;
  /** Shared by every file (they are read one after another): a megabyte per file is external memory that makes V8 collect again and again. */
  private readonly buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);

  constructor(setup: DecoderSetup) {
    this.setup = setup;
  }

  async *start(input: ReplayInput): AsyncGenerator<PreparedBatch> {
    const { options, ownPath, source, openStream, onBytes } = this.setup;
    let chunks: AsyncIterable<Buffer>;
    try {
      chunks = input.kind === 'file' ? fromIterable(readLocalFile(input.path, this.buffer)) : await openStream(input);
    } catch (error) {
      throw new InputFailure(input.name, readFailureReason(error));
    }
    for await (const batch of decodeInput(input.name, chunks, { ...options, ends: input.kind !== 'stdin' }, onBytes)) yield prepareBatch(source, batch, ownPath, Date.now());
  }

  async close(): Promise<void> {}
}

/**
 * --jobs N: the first input decoded on the main thread when its turn comes, the others on up to N threads. A replay of
 * one file starts no thread, and the main thread works on the first input while the threads start on the next ones.
 * Which thread decodes an input changes nothing of what is counted: every input is counted in order on the main thread.
 */
export class ThreadedDecoder implements InputDecoder {
  readonly concurrency: number;
  private readonly inline: InlineDecoder;
  private readonly pool: WorkerDecoder;
  private first = true;

  constructor(jobs: number, setup: DecoderSetup) {
    this.concurrency = jobs;
    this.inline = new InlineDecoder(setup);
    this.pool = new WorkerDecoder(jobs, setup);
  }

  start(input: ReplayInput): AsyncIterable<PreparedBatch> {
    if (!this.first) return this.pool.start(input);
    this.first = false;
    return this.inline.start(input);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The worker's entry point, next to this module (TypeScript from source, JavaScript once built). */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './decode-worker.ts' : './decode-worker.js', import.meta.url);

/** Parts of one input as they arrive from its worker, taken in order; each taken part lets the worker run ahead by one more. */
class InputChannel implements AsyncIterable<PreparedBatch> {
  private readonly parts: PreparedBatch[] = [];
  private end: { readonly failure: InputFailure | undefined } | undefined;
  private wake: (() => void) | undefined;
  private readonly ack: () => void;

  constructor(ack: () => void) {
    this.ack = ack;
  }

  push(part: PreparedBatch): void {
    this.parts.push(part);
    this.notify();
  }

  finish(failure: InputFailure | undefined): void {
    this.end = { failure };
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<PreparedBatch> {
    for (;;) {
      const part = this.parts.shift();
      if (part !== undefined) {
        this.ack();
        yield part;
        continue;
      }
      if (this.end !== undefined) {
        if (this.end.failure !== undefined) throw this.end.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

interface Assignment {
  readonly input: ReplayInput;
  readonly channel: InputChannel;
  /** The chunks of a stream the main thread reads, opened on the worker's first pull. */
  stream: AsyncIterator<Buffer> | undefined;
}

/** --jobs N: N worker threads, each decoding one input at a time; local files are read by the worker, streams fed to it chunk by chunk. */
export class WorkerDecoder implements InputDecoder {
  readonly concurrency: number;
  private readonly setup: DecoderSetup;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly waitingForWorker: ((worker: Worker) => void)[] = [];
  private readonly assigned = new Map<number, { readonly worker: Worker; readonly assignment: Assignment }>();
  private nextId = 0;
  private crashed: Error | undefined;

  private readonly jobs: number;

  /** Threads start as inputs need them, up to `jobs`: a replay of one file starts none. */
  constructor(jobs: number, setup: DecoderSetup) {
    this.concurrency = jobs;
    this.jobs = jobs;
    this.setup = setup;
  }

  private spawn(): Worker {
    const workerData: WorkerSetup = { options: this.setup.options, ownPath: this.setup.ownPath, source: this.setup.source };
    const worker = new Worker(WORKER_URL, { workerData });
    worker.on('message', (message: FromWorker) => this.onMessage(worker, message));
    worker.on('error', (error) => this.onCrash(error));
    this.workers.push(worker);
    return worker;
  }

  start(input: ReplayInput): AsyncIterable<PreparedBatch> {
    const id = this.nextId++;
    let worker: Worker | undefined;
    const channel = new InputChannel(() => worker?.postMessage({ type: 'ack', id } satisfies ToWorker));
    const assignment: Assignment = { input, channel, stream: undefined };
    void this.takeWorker().then((taken) => {
      worker = taken;
      this.assigned.set(id, { worker: taken, assignment });
      const message: ToWorker = input.kind === 'file' ? { type: 'file', id, name: input.name, path: input.path } : { type: 'stream', id, name: input.name, ends: input.kind !== 'stdin' };
      taken.postMessage(message);
    });
    if (this.crashed !== undefined) channel.finish(new InputFailure(input.name, `the decode worker failed: ${this.crashed.message}`));
    return channel;
  }

  private takeWorker(): Promise<Worker> {
    const worker = this.idle.pop() ?? (this.workers.length < this.jobs ? this.spawn() : undefined);
    if (worker !== undefined) return Promise.resolve(worker);
    return new Promise((resolve) => this.waitingForWorker.push(resolve));
  }

  private release(worker: Worker): void {
    const waiting = this.waitingForWorker.shift();
    if (waiting !== undefined) waiting(worker);
    else this.idle.push(worker);
  }

  private onMessage(worker: Worker, message: FromWorker): void {
    const entry = this.assigned.get(message.id);
    if (entry === undefined) return;
    const { assignment } = entry;
    switch (message.type) {
      case 'part':
        assignment.channel.push(revivePreparedBatch(message.prepared));
        break;
      case 'bytes':
        this.setup.onBytes?.(message.bytes);
        break;
      case 'pull':
        void this.feed(worker, message.id, assignment);
        break;
      case 'done':
        this.assigned.delete(message.id);
        void assignment.stream?.return?.();
        this.release(worker);
        assignment.channel.finish(message.failure === undefined ? undefined : new InputFailure(assignment.input.name, message.failure));
        break;
    }
  }

  /** Answers a pull with the stream's next chunk (copied into a buffer of its own, moved to the worker), its end, or its failure. */
  private async feed(worker: Worker, id: number, assignment: Assignment): Promise<void> {
    let message: ToWorker;
    try {
      assignment.stream ??= (await this.setup.openStream(assignment.input))[Symbol.asyncIterator]();
      const next = await assignment.stream.next();
      if (next.done === true) message = { type: 'end', id };
      else {
        const bytes = new Uint8Array(next.value);
        worker.postMessage({ type: 'chunk', id, bytes } satisfies ToWorker, [bytes.buffer]);
        return;
      }
    } catch (error) {
      message = { type: 'fail', id, reason: readFailureReason(error) };
    }
    worker.postMessage(message);
  }

  private onCrash(error: Error): void {
    this.crashed = error;
    for (const [id, { assignment }] of this.assigned) {
      this.assigned.delete(id);
      assignment.channel.finish(new InputFailure(assignment.input.name, `the decode worker failed: ${error.message}`));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
