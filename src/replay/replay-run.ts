// A replay's inputs decoded ahead (in workers with --jobs N) and committed strictly one after another, in order.
//
// What is counted is decided only here, on one thread, input after input and batch after
// batch: de-duplication by eventID across files, the label limiter's choices, the key state
// and the log events come out the same whatever the number of decode threads.

import { InputError } from '../errors.ts';
import type { BatchOutcome } from '../pipeline.ts';
import type { PreparedBatch } from '../prepare-batch.ts';
import type { InputDecoder } from './input-decoders.ts';
import type { Progress } from './progress.ts';
import type { ReplayInput } from './replay-input.ts';
import { InputFailure } from './replay-input.ts';

export interface ReplayRun {
  /** The inputs in the order they are counted (an S3 listing is read as it goes). */
  readonly inputs: AsyncIterable<ReplayInput>;
  readonly decoder: InputDecoder;
  /** Commits one prepared batch; resolves once it is counted. */
  deliver(prepared: PreparedBatch): Promise<BatchOutcome>;
  /** Each input that failed, after the batches read from it, in input order. */
  onError(error: InputError): void;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** Inputs a resumed backfill has counted already: listed, never read. */
  skip?(input: ReplayInput): boolean;
  /** Told once every batch of an input is committed (a manifest records it then). */
  committed?(input: ReplayInput): Promise<void> | void;
}

const aborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

/**
 * Local files are read and inflated synchronously and everything else runs on promises, so
 * without a turn of the event loop now and then no timer (the progress line) and no signal
 * handler (SIGTERM) would run until the replay ends.
 */
const TURN_MS = 50;

/** Inputs being decoded ahead of the one being committed: twice the threads, so a thread that finishes takes the next at once. */
function lookahead(decoder: InputDecoder): number {
  return decoder.concurrency === 1 ? 1 : 2 * decoder.concurrency;
}

export async function runReplayInputs(run: ReplayRun): Promise<void> {
  const { decoder, progress, signal } = run;
  const listing = run.inputs[Symbol.asyncIterator]();
  /** Inputs started, in order; an unlisted location has no parts, only its error. */
  const started: { readonly input: ReplayInput; readonly parts: AsyncIterable<PreparedBatch> | undefined }[] = [];
  let listed = false;
  const fill = async (): Promise<void> => {
    while (!listed && started.length < lookahead(decoder) && !aborted(signal)) {
      const next = await listing.next();
      if (next.done === true) listed = true;
      else if (next.value.kind === 'unlisted') started.push({ input: next.value, parts: undefined });
      else if (run.skip?.(next.value) !== true) started.push({ input: next.value, parts: decoder.start(next.value) });
    }
  };
  let turned = Date.now();
  for (;;) {
    if (Date.now() - turned >= TURN_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      turned = Date.now();
    }
    await fill();
    const head = started.shift();
    if (head === undefined || aborted(signal)) return;
    if (head.input.kind === 'unlisted' || head.parts === undefined) {
      if (head.input.kind === 'unlisted') run.onError(new InputError(head.input.name, head.input.reason));
      continue;
    }
    try {
      for await (const prepared of head.parts) {
        if (aborted(signal)) return;
        const outcome = await run.deliver(prepared);
        progress?.counted(prepared.ignored + prepared.invalid.length + prepared.candidates.length, outcome.changes.length);
      }
    } catch (error) {
      if (aborted(signal)) return;
      if (!(error instanceof InputFailure)) throw error;
      run.onError(error.error);
    }
    if (progress?.live === true) progress.inputDone();
    await run.committed?.(head.input);
  }
}
