// One input of a replay (a local file, stdin, an S3 log file) and its decoding into record batches, wherever it runs.
//
// decodeInput is what the main thread runs with --jobs 1 and what each decode worker runs
// otherwise: the same bytes give the same batches and the same error, whichever thread.

import { closeSync, openSync, readSync } from 'node:fs';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import { decodeRecordStream, InputStreamError } from '../decode/record-stream.ts';
export { fromIterable } from '../decode/record-stream.ts';
import { InputError } from '../errors.ts';
import type { RecordBatch } from '../record-batch.ts';

export type ReplayInput =
  /** `location`: the position of its path among the replay's (a manifest counts inputs by location and name). */
  | { readonly kind: 'file'; readonly name: string; readonly path: string; readonly location: number }
  | { readonly kind: 'stdin'; readonly name: 'stdin'; readonly location: number }
  | { readonly kind: 's3'; readonly name: string; readonly bucket: string; readonly key: string; readonly size: number | undefined; readonly location: number }
  /** A location that could not be listed (or is no location): reported in its place among the inputs, not before the ones listed ahead of it. */
  | { readonly kind: 'unlisted'; readonly name: string; readonly reason: string; readonly location: number };

/** A read that failed, already put in words (it crossed from the thread that read to the one that decodes). */
export class InputReadError extends Error {
  override readonly name = 'InputReadError';
}

/** What a person reads for a failed read: the decoder's finding, the file's errno, the S3 error code, or the cause. */
export function readFailureReason(error: unknown): string {
  if (error instanceof InputStreamError || error instanceof InputReadError) return error.message;
  const named = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (named.name === 'NoSuchKey') return 'no such object (NoSuchKey)';
  if (named.name === 'AccessDenied') return 'access denied (AccessDenied): the reader needs s3:GetObject on it (and kms:Decrypt on an SSE-KMS trail)';
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'ECONNRESET' || named.message === 'aborted') return 'the connection dropped while reading it: what was read before is counted';
  if (named.$metadata?.httpStatusCode !== undefined) return `${named.name ?? 'error'} (HTTP ${named.$metadata.httpStatusCode}): ${named.message ?? ''}`;
  return named.message ?? String(error);
}

/** Read size: large enough that per-chunk work vanishes, small enough to keep memory flat. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * A file's bytes through one reused buffer, read synchronously: a replay is a thousand small
 * S3 log files, and a trip through the thread pool for each open and read costs more than
 * the read (on one core, a third of a millisecond per file). The decoder copies whatever it
 * keeps past its next pull, so the buffer is refilled only after that. A read stream would
 * allocate a new buffer per chunk, which at replay speed is most of the garbage.
 */
export function* readLocalFile(path: string, buffer: Buffer): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Every batch of one input, in order; `onBytes` is told of each chunk's bytes (as stored:
 * compressed for gzip) as it is read. An input that cannot be read, is cut short, or holds
 * no record at all (binary data, text that is not JSON) throws an {@link InputFailure}
 * naming it after the batches read from it.
 */
export async function* decodeInput(name: string, chunks: AsyncIterable<Buffer>, options: RecordStreamOptions, onBytes?: (bytes: number) => void): AsyncGenerator<RecordBatch> {
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      onBytes?.(chunk.length);
      yield chunk;
    }
  }
  let records = 0;
  let invalid = 0;
  try {
    for await (const batch of decodeRecordStream(onBytes === undefined ? chunks : counted(), options)) {
      records += batch.records.length + batch.skipped;
      invalid += batch.invalid.length;
      yield batch;
    }
  } catch (error) {
    throw new InputFailure(name, readFailureReason(error));
  }
  if (records === 0 && invalid > 0) throw new InputFailure(name, `not CloudTrail: no record could be read from it (${invalid} invalid)`);
}

/** An input's failure in words: plain data, so it crosses from a decode worker as it is. */
export class InputFailure extends Error {
  override readonly name = 'InputFailure';
  readonly input: string;
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`${input}: ${reason}`);
    this.input = input;
    this.reason = reason;
  }

  /** What the operator is told. */
  get error(): InputError {
    return new InputError(this.input, this.reason);
  }
}
