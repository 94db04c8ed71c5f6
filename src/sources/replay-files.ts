// The replay source: files or stdin, for backfill, demos and benchmarks.

import { open as openFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import { decodeRecordStream, InputStreamError } from '../decode/record-stream.ts';
import { InputError } from '../errors.ts';
import type { RecordBatch } from '../record-batch.ts';
import type { InputProgress } from '../replay/input-progress.ts';
import { COMMIT_FAILED } from './source.ts';
import type { Source, SourceContext, SourceStatus } from './source.ts';

/** Read size: large enough that per-chunk work vanishes, small enough to keep memory flat. */
const READ_CHUNK_BYTES = 1024 * 1024;

export interface ReplayOptions extends RecordStreamOptions {
  readonly stdin: Readable;
}

/** A resumable manifest's view of the paths: the first path is location `first` of the replay's command line. */
export interface FilesProgress {
  readonly progress: InputProgress;
  readonly first: number;
}

/**
 * A file's bytes through two reused buffers, the next read running while the current
 * chunk is decoded. A read stream allocates a new buffer per chunk, which at replay
 * speed is most of the garbage and of the resident memory. The decoder copies whatever
 * it keeps past its next pull, so a buffer is refilled only after that.
 */
async function* readFile(path: string, buffers: ReadBuffers): AsyncGenerator<Buffer> {
  const handle = await openFile(path, 'r');
  try {
    let filling = buffers.a;
    let spare = buffers.b;
    let reading = handle.read(filling, 0, READ_CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) return;
      const filled = filling;
      filling = spare;
      spare = filled;
      reading = handle.read(filling, 0, READ_CHUNK_BYTES, null);
      yield filled.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Shared by every file of a replay (they are read one after another): allocating a
 * megabyte per file is external memory that makes V8 collect the whole heap again and
 * again when a replay is a thousand small S3 log files.
 */
interface ReadBuffers {
  readonly a: Buffer;
  readonly b: Buffer;
}

function open(path: string, stdin: Readable, buffers: ReadBuffers): AsyncIterable<Buffer> {
  return path === '-' ? stdin : readFile(path, buffers);
}

function reason(error: unknown): string {
  if (error instanceof InputStreamError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (error as Error).message;
}

/**
 * The chunks of `input` until `signal` aborts; then the input is closed (a pipe that
 * never ends is destroyed, which ends its pending read) and what was read stands.
 * No Promise.race against a promise that never settles: each race would keep its chunk.
 */
async function* untilAborted(input: AsyncIterable<Buffer>, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  if (signal === undefined) {
    yield* input;
    return;
  }
  const stop = (): void => {
    if (input instanceof Readable) input.destroy();
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of input) {
      if (signal.aborted) return;
      yield chunk;
    }
  } catch (error) {
    // A destroyed stream may end its read with a premature-close error: that is the stop.
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/**
 * Every record of every path, in order. A path that cannot be read, is cut short, or
 * holds no record at all (binary data, text that is not JSON) is reported to `onError`
 * after the records read from it, and the next path goes on. `signal` stops the reading.
 */
export async function* replayFiles(paths: readonly string[], options: ReplayOptions, onError: (error: InputError) => void, signal?: AbortSignal, resume?: FilesProgress): AsyncGenerator<RecordBatch> {
  const buffers: ReadBuffers = { a: Buffer.allocUnsafe(READ_CHUNK_BYTES), b: Buffer.allocUnsafe(READ_CHUNK_BYTES) };
  const stopped = (): boolean => signal?.aborted === true;
  for (const [index, path] of paths.entries()) {
    if (stopped()) return;
    const location = (resume?.first ?? 0) + index;
    if (resume?.progress.skip(location, path) === true) continue;
    yield* replayFile(path, options, onError, signal, buffers);
    // Resumed here, the consumer has committed the file's last batch (an input stopped by the signal is not done).
    if (stopped()) return;
    resume?.progress.done(location, path);
  }
}

/** One path's records; an error after what was read of it. */
async function* replayFile(path: string, options: ReplayOptions, onError: (error: InputError) => void, signal: AbortSignal | undefined, buffers: ReadBuffers): AsyncGenerator<RecordBatch> {
  const name = path === '-' ? 'stdin' : path;
  let records = 0;
  let invalid = 0;
  try {
    for await (const batch of decodeRecordStream(untilAborted(open(path, options.stdin, buffers), signal), options)) {
      records += batch.records.length + batch.skipped;
      invalid += batch.invalid.length;
      yield batch;
    }
  } catch (error) {
    onError(new InputError(name, reason(error)));
    return;
  }
  if (records === 0 && invalid > 0) onError(new InputError(name, `not CloudTrail: no record could be read from it (${invalid} invalid)`));
}

/** A file missing, unreadable or cut short; a batch the state store refused. */
export const REPLAY_ERROR_KINDS = ['unreadable_input', COMMIT_FAILED] as const;

export interface ReplaySourceOptions extends ReplayOptions {
  readonly paths: readonly string[];
  readonly context: SourceContext;
}

/** Replay as a source of `serve`: reads its paths once at start, then serves what it counted until stopped. */
export class ReplaySource implements Source {
  readonly name = 'replay';
  readonly errorKinds: readonly string[] = REPLAY_ERROR_KINDS;
  readonly eventKinds: readonly string[] = [];
  private readonly options: ReplaySourceOptions;
  private state: SourceStatus;

  constructor(options: ReplaySourceOptions) {
    this.options = options;
    this.state = { ready: false, detail: `reading ${options.paths.length} path(s)` };
  }

  status(): SourceStatus {
    return this.state;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { paths, context } = this.options;
    let failed = 0;
    for await (const batch of replayFiles(paths, this.options, (error) => {
      if (signal.aborted) return;
      failed++;
      context.error('unreadable_input', error.message);
    })) {
      if (signal.aborted) return;
      await context.deliver(batch).catch((error: unknown) => context.error(COMMIT_FAILED, `a replayed batch was not committed: ${(error as Error).message}`, error));
    }
    this.state = { ready: true, detail: `read ${paths.length - failed} of ${paths.length} path(s); serving its metrics until stopped` };
  }
}
