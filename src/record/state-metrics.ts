// Every bounded table's size and limit, its evictions, and the health of the state store: memory bounded by configuration, shown.

import type { CounterLedger, Labels } from './counter-ledger.ts';
import type { Instruments } from './instruments.ts';
import { METRIC } from './instruments.ts';

/** The bounded tables, a closed set: the `table` label. */
export const STATE_TABLES = [
  'cloudtrail_event_ids',
  'push_request_ids',
  'pending_deletions',
  'key_lifecycle_events',
  'key_aliases',
  'key_material_expiries',
  'key_id_label_values',
  'principal_label_values',
  'poll_log_event_ids',
] as const;
export type StateTable = (typeof STATE_TABLES)[number];

export const STATE_STORES = ['memory', 'file', 'redis'] as const;
export type StateStoreKind = (typeof STATE_STORES)[number];

/** Why the state store failed, a closed set: the `error` label of kms_exporter_state_errors_total. */
export const STATE_ERRORS = ['corrupt', 'write_failed', 'lock_lost', 'unavailable', 'in_doubt'] as const;
export type StateError = (typeof STATE_ERRORS)[number];

interface TableView {
  readonly limit: number;
  readonly size: () => number;
}

const TABLES: ReadonlySet<string> = new Set(STATE_TABLES);
const ERRORS: ReadonlySet<string> = new Set(STATE_ERRORS);

export class StateMetrics {
  private readonly ledger: CounterLedger;
  private readonly tables = new Map<StateTable, TableView>();
  private storeKind: StateStoreKind = 'memory';
  private storeUp: () => boolean = () => true;

  constructor(ledger: CounterLedger, instruments: Instruments) {
    this.ledger = ledger;
    const keys = (labels: Labels) => Object.keys(labels).sort().join(',');
    ledger.own(METRIC.stateEvictions, (labels) => (keys(labels) === 'table' && TABLES.has(labels['table'] ?? '') ? labels : undefined));
    ledger.own(METRIC.stateErrors, (labels) => (keys(labels) === 'error,store' && ERRORS.has(labels['error'] ?? '') ? labels : undefined));
    instruments.stateEntries.addCallback((result) => {
      for (const [table, view] of this.tables) result.observe(view.size(), { table });
    });
    instruments.stateLimit.addCallback((result) => {
      for (const [table, view] of this.tables) result.observe(view.limit, { table });
    });
    instruments.stateUp.addCallback((result) => result.observe(this.storeUp() ? 1 : 0, { store: this.storeKind }));
  }

  table(table: StateTable, limit: number, size: () => number): void {
    this.tables.set(table, { limit, size });
    this.ledger.declare(METRIC.stateEvictions, { table });
  }

  evicted(table: StateTable, count = 1): void {
    this.ledger.addNow(METRIC.stateEvictions, { table }, count);
  }

  store(kind: StateStoreKind, up: () => boolean, errors: readonly StateError[]): void {
    this.storeKind = kind;
    this.storeUp = up;
    for (const error of errors) this.ledger.declare(METRIC.stateErrors, { store: kind, error });
  }

  /** Shown at once: a store that is down cannot persist the count of its own failures first. */
  error(error: StateError): void {
    this.ledger.addNow(METRIC.stateErrors, { store: this.storeKind, error }, 1);
  }
}
