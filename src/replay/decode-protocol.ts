// What the main thread and a replay's decode workers say to each other: inputs and their bytes one way, prepared batches the other.

import type { OwnPath } from '../classify/pipeline-change.ts';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import type { PreparedBatch } from '../prepare-batch.ts';

/** Each worker's `workerData`. */
export interface WorkerSetup {
  readonly options: RecordStreamOptions;
  readonly ownPath: OwnPath;
  readonly source: string;
}

export type ToWorker =
  /** Decode a local file: the worker reads it itself. */
  | { readonly type: 'file'; readonly id: number; readonly name: string; readonly path: string }
  /** Decode a stream the main thread reads (stdin, an S3 object's body): the worker pulls its chunks one at a time. */
  | { readonly type: 'stream'; readonly id: number; readonly name: string; readonly ends: boolean }
  | { readonly type: 'chunk'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly type: 'end'; readonly id: number }
  | { readonly type: 'fail'; readonly id: number; readonly reason: string }
  /** The main thread took one of the input's parts: the worker may run ahead again. */
  | { readonly type: 'ack'; readonly id: number };

export type FromWorker =
  | { readonly type: 'part'; readonly id: number; readonly prepared: PreparedBatch }
  /** Bytes of the input read (as stored), as they are read: the progress line's, not the commit's. */
  | { readonly type: 'bytes'; readonly id: number; readonly bytes: number }
  | { readonly type: 'pull'; readonly id: number }
  | { readonly type: 'done'; readonly id: number; readonly failure: string | undefined };

/** Parts a worker sends ahead of the main thread before it waits: a large file's changes are held a few megabytes at a time, not whole. */
export const PARTS_AHEAD = 4;
