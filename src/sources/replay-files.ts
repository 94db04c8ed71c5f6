// The replay source: files or stdin, for backfill, demos and benchmarks.

import { Readable } from 'node:stream';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import type { InputError } from '../errors.ts';
import type { RecordBatch } from '../record-batch.ts';
import { decodeInput, fromIterable, InputFailure, READ_CHUNK_BYTES, readLocalFile } from '../replay/replay-input.ts';
import { COMMIT_FAILED } from './source.ts';
import type { Source, SourceContext, SourceStatus } from './source.ts';

export interface ReplayOptions extends RecordStreamOptions {
  readonly stdin: Readable;
}

function open(path: string, stdin: Readable, buffer: Buffer): AsyncIterable<Buffer> {
  return path === '-' ? stdin : fromIterable(readLocalFile(path, buffer));
}

/**
 * The chunks of `input` until `signal` aborts; then the input is closed (a pipe that
 * never ends is destroyed, which ends its pending read) and what was read stands.
 * No Promise.race against a promise that never settles: each race would keep its chunk.
 */
export async function* untilAborted(input: AsyncIterable<Buffer>, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
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
export async function* replayFiles(paths: readonly string[], options: ReplayOptions, onError: (error: InputError) => void, signal?: AbortSignal): AsyncGenerator<RecordBatch> {
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  for (const path of paths) {
    if (signal?.aborted === true) return;
    try {
      yield* decodeInput(path === '-' ? 'stdin' : path, untilAborted(open(path, options.stdin, buffer), signal), { ...options, ends: path !== '-' });
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      onError(error.error);
    }
  }
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
