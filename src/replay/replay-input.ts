// One input of a replay (a local file, stdin, an S3 log file) and its decoding into record batches, wherever it runs.
//
// decodeInput is what the main thread runs with --jobs 1 and what each decode worker runs
// otherwise: the same bytes give the same batches and the same error, whichever thread.

import { closeSync, openSync, readSync } from 'node:fs';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import { decodeRecordStream, InputStreamError } from '../decode/record-stream.ts';
import { InputError } from '../errors.ts';
import type { RecordBatch } from '../record-batch.ts';

export type ReplayInput =
  | { readonly kind: 'file'; readonly name: string; readonly path: string }
  | { readonly kind: 'stdin'; readonly name: 'stdin' }
  | { readonly kind: 's3'; readonly name: string; readonly bucket: string; readonly key: string; readonly size: number | undefined };

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

export async function* fromSync(chunks: Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* chunks;
}

/** One decoded batch of an input (none in the last part, which only reports the bytes after the last batch), and the input's bytes (as stored: compressed for gzip) read since the part before. */
export interface DecodedPart {
  readonly batch: RecordBatch | undefined;
  readonly bytes: number;
}

/**
 * Every batch of one input, in order. An input that cannot be read, is cut short, or holds
 * no record at all (binary data, text that is not JSON) throws an {@link InputError} naming
 * it after the batches read from it; the bytes read before the failure come with it.
 */
export async function* decodeInput(name: string, chunks: AsyncIterable<Buffer>, options: RecordStreamOptions): AsyncGenerator<DecodedPart> {
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      bytes += chunk.length;
      yield chunk;
    }
  }
  let records = 0;
  let invalid = 0;
  try {
    for await (const batch of decodeRecordStream(counted(), options)) {
      records += batch.records.length + batch.skipped;
      invalid += batch.invalid.length;
      const read = bytes;
      bytes = 0;
      yield { batch, bytes: read };
    }
  } catch (error) {
    throw new InputFailure(name, readFailureReason(error), bytes);
  }
  if (records === 0 && invalid > 0) throw new InputFailure(name, `not CloudTrail: no record could be read from it (${invalid} invalid)`, bytes);
  if (bytes > 0) yield { batch: undefined, bytes };
}

/** An input's failure in words (it may cross threads as plain data), and the bytes read since its last batch. */
export class InputFailure extends Error {
  override readonly name = 'InputFailure';
  readonly input: string;
  readonly reason: string;
  readonly bytes: number;

  constructor(input: string, reason: string, bytes: number) {
    super(`${input}: ${reason}`);
    this.input = input;
    this.reason = reason;
    this.bytes = bytes;
  }

  /** What the operator is told. */
  get error(): InputError {
    return new InputError(this.input, this.reason);
  }
}
