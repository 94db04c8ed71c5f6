// The replay source: files or stdin, for backfill, demos and benchmarks.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import { decodeRecordStream, InputStreamError } from '../decode/record-stream.ts';
import { InputError } from '../errors.ts';
import type { RecordBatch } from '../record-batch.ts';

/** Read size: large enough that per-chunk work vanishes, small enough to keep memory flat. */
const READ_CHUNK_BYTES = 1024 * 1024;

export interface ReplayOptions extends RecordStreamOptions {
  readonly stdin: Readable;
}

function open(path: string, stdin: Readable): AsyncIterable<Buffer> {
  return path === '-' ? stdin : createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
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
 * Every record of every path, in order. A path that cannot be read, or is cut short,
 * is reported to `onError` after the records read from it, and the next path goes on.
 */
export async function* replayFiles(paths: readonly string[], options: ReplayOptions, onError: (error: InputError) => void): AsyncGenerator<RecordBatch> {
  for (const path of paths) {
    try {
      yield* decodeRecordStream(open(path, options.stdin), options);
    } catch (error) {
      onError(new InputError(path === '-' ? 'stdin' : path, reason(error)));
    }
  }
}
