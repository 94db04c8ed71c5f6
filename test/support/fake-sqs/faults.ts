// Fault injection for the fake SQS: scripted and rate-based errors, delays, dropped connections, held requests and failing batch entries.
import type { Random } from '../../../trail/random.ts';
import { internalError, serviceUnavailable, SqsError, throttled } from './wire.ts';

export interface SqsFaultSettings {
  /** Share of calls (0..1) answered RequestThrottled (HTTP 400). */
  readonly throttleRate: number;
  /** Share of calls answered InternalError (500). */
  readonly serverErrorRate: number;
  /** Share of calls whose connection is destroyed after the request is read, with no response. */
  readonly dropConnectionRate: number;
  /** Added before every answer (errors included) of the operations in scope. */
  readonly delayMs: number;
  /** Operations the rate-based faults and delay apply to. */
  readonly operations: 'all' | readonly string[];
}

export const NO_SQS_FAULTS: SqsFaultSettings = { throttleRate: 0, serverErrorRate: 0, dropConnectionRate: 0, delayMs: 0, operations: 'all' };

export type SqsScriptedFault = 'throttle' | 'internal-error' | 'service-unavailable' | 'drop-connection' | 'access-denied' | { readonly shape: string; readonly message?: string; readonly code?: string; readonly status?: number };

export type SqsFaultDecision =
  | { readonly kind: 'pass'; readonly delayMs: number }
  | { readonly kind: 'error'; readonly delayMs: number; readonly error: SqsError }
  | { readonly kind: 'drop'; readonly delayMs: number };

export class SqsFaults {
  #settings: SqsFaultSettings;
  readonly #random: Random;
  readonly #script: { readonly operation: string; readonly fault: SqsScriptedFault; remaining: number }[] = [];
  readonly #holds = new Map<string, { readonly released: Promise<void>; readonly release: () => void }>();
  /** Batch entries to fail next, by operation: answered Failed with InternalError, SenderFault false. */
  readonly #failingEntries = new Map<string, number>();

  constructor(random: Random, initial: Partial<SqsFaultSettings> = {}) {
    this.#random = random;
    this.#settings = { ...NO_SQS_FAULTS, ...initial };
  }

  set(partial: Partial<SqsFaultSettings>): void {
    this.#settings = { ...this.#settings, ...partial };
  }

  clear(): void {
    this.#settings = NO_SQS_FAULTS;
    this.#script.length = 0;
    this.#failingEntries.clear();
    for (const operation of [...this.#holds.keys()]) this.release(operation);
  }

  script(operation: string, fault: SqsScriptedFault, times: number): void {
    this.#script.push({ operation, fault, remaining: times });
  }

  /** Requests of `operation` wait (after their body is read) until {@link release}. */
  hold(operation: string): void {
    if (this.#holds.has(operation)) return;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#holds.set(operation, { released, release });
  }

  release(operation: string): void {
    this.#holds.get(operation)?.release();
    this.#holds.delete(operation);
  }

  held(operation: string): Promise<void> | undefined {
    return this.#holds.get(operation)?.released;
  }

  failEntries(operation: string, count: number): void {
    this.#failingEntries.set(operation, (this.#failingEntries.get(operation) ?? 0) + count);
  }

  /** Whether the next entry of a batch of `operation` fails (and uses up one of the failures asked for). */
  entryFails(operation: string): boolean {
    const left = this.#failingEntries.get(operation) ?? 0;
    if (left <= 0) return false;
    this.#failingEntries.set(operation, left - 1);
    return true;
  }

  decide(operation: string): SqsFaultDecision {
    const s = this.#settings;
    const inScope = s.operations === 'all' || s.operations.includes(operation);
    const delayMs = inScope ? s.delayMs : 0;
    const scripted = this.#script.find((x) => x.operation === '*' || x.operation === operation);
    if (scripted) {
      if (--scripted.remaining <= 0) this.#script.splice(this.#script.indexOf(scripted), 1);
      return scriptedDecision(scripted.fault, operation, delayMs);
    }
    if (!inScope) return { kind: 'pass', delayMs };
    // Always draw all three, so changing one rate does not shift the others' sequence.
    const drop = this.#random.float();
    const throttle = this.#random.float();
    const server = this.#random.float();
    if (drop < s.dropConnectionRate) return { kind: 'drop', delayMs };
    if (throttle < s.throttleRate) return { kind: 'error', delayMs, error: throttled() };
    if (server < s.serverErrorRate) return { kind: 'error', delayMs, error: internalError() };
    return { kind: 'pass', delayMs };
  }
}

function scriptedDecision(fault: SqsScriptedFault, operation: string, delayMs: number): SqsFaultDecision {
  switch (fault) {
    case 'throttle':
      return { kind: 'error', delayMs, error: throttled() };
    case 'internal-error':
      return { kind: 'error', delayMs, error: internalError() };
    case 'service-unavailable':
      return { kind: 'error', delayMs, error: serviceUnavailable() };
    case 'drop-connection':
      return { kind: 'drop', delayMs };
    case 'access-denied':
      return {
        kind: 'error',
        delayMs,
        error: new SqsError('AccessDenied', `User: arn:aws:sts::123456789012:assumed-role/kms-change-exporter/fake is not authorized to perform: sqs:${operation} on resource because no identity-based policy allows the sqs:${operation} action`, { code: 'AccessDenied', status: 403 }),
      };
    default:
      return { kind: 'error', delayMs, error: new SqsError(fault.shape, fault.message ?? fault.shape, { ...(fault.code === undefined ? {} : { code: fault.code }), ...(fault.status === undefined ? {} : { status: fault.status }) }) };
  }
}
