// The one shape every source has: its name, the kinds of errors and informational events it counts, run(signal), and its status.
//
// A pull source (poll, live tail, replay) runs until aborted and hands each batch to
// `deliver`, which resolves once the batch is committed. A push source (Firehose) adds
// routes to the one HTTP app and hands each request's batch to the same `deliver`.
// Nothing downstream knows which source fed it: the name is only a label.

import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { BatchOutcome } from '../pipeline.ts';
import type { RecordBatch } from '../record-batch.ts';

export interface SourceStatus {
  readonly ready: boolean;
  /** What the operator should know, most of all when it is not ready. */
  readonly detail: string;
}

/** Progress a source keeps across restarts, with the schema the checkpoint validates it by. */
export interface SourceProgress<T> {
  readonly schema: z.ZodType<T>;
  snapshot(): T;
  restore(progress: T): void;
}

export interface Source {
  readonly name: string;
  /** Kinds counted in kms_exporter_source_errors_total{source,error}; their series start at 0. */
  readonly errorKinds: readonly string[];
  /** Kinds counted in kms_exporter_source_events_total{source,event}: normal events worth a number, not errors. */
  readonly eventKinds: readonly string[];
  readonly progress?: SourceProgress<unknown>;
  /** Push sources: the routes they add to the HTTP app. */
  readonly routes?: (app: FastifyInstance) => Promise<void>;
  /** Runs until the signal aborts (push sources: until then, idle). */
  run(signal: AbortSignal): Promise<void>;
  status(): SourceStatus;
}

/** What the service gives every source. */
export interface SourceContext {
  /** Commits a batch; resolves once it is counted and persisted, rejects when the state store cannot take it. */
  readonly deliver: (batch: RecordBatch, requestId?: string) => Promise<DeliveryOutcome>;
  /** A failure of the source, by kind (a metric) with a line for the operator. */
  readonly error: (kind: string, detail: string, error?: unknown) => void;
  /** A normal event worth counting (sampled, session ended, retried request). */
  readonly event: (kind: string, detail?: string) => void;
  readonly now: () => number;
}

/** A batch the state store could not take (nothing of it counted): a pull source reads it again. */
export const COMMIT_FAILED = 'commit_failed';

export type DeliveryOutcome = { readonly kind: 'committed'; readonly outcome: BatchOutcome } | { readonly kind: 'retry' };
