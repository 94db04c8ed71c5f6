// Fault injection: scripted and rate-based errors, delays, dropped connections and a per-second call quota.
import type { Random } from '../../../trail/random.ts';
import { ServiceError } from './wire.ts';

export type ServerErrorKind = 'ServiceUnavailableException' | 'InternalFailure';

export interface FaultSettings {
  /** Share of calls (0..1) answered ThrottlingException, HTTP 400, as CloudWatch Logs does. */
  readonly throttleRate: number;
  /** Share of calls answered with a server error of `serverErrorKind`. */
  readonly serverErrorRate: number;
  readonly serverErrorKind: ServerErrorKind;
  /** Status for ServiceUnavailableException; InternalFailure is always 500. */
  readonly serviceUnavailableStatus: number;
  /** Share of calls whose connection is destroyed after the request is read, with no response. */
  readonly dropConnectionRate: number;
  /** Added before every answer (errors included) of the operations in scope. */
  readonly delayMs: number;
  /** Every call in scope answered AccessDeniedException (HTTP 400), as with a missing IAM permission. */
  readonly accessDenied: boolean;
  /** Share of FilterLogEvents pages returned empty with a continuing nextToken, beyond the scan-chunk ones. */
  readonly emptyPageRate: number;
  /** Operations the rate-based faults, delay and access denial apply to. */
  readonly operations: 'all' | readonly string[];
  /** Calls per rolling second per operation before ThrottlingException, e.g. { FilterLogEvents: 5 }. */
  readonly quotaPerSecond: Readonly<Record<string, number>>;
}

export const NO_FAULTS: FaultSettings = {
  throttleRate: 0,
  serverErrorRate: 0,
  serverErrorKind: 'ServiceUnavailableException',
  serviceUnavailableStatus: 503,
  dropConnectionRate: 0,
  delayMs: 0,
  accessDenied: false,
  emptyPageRate: 0,
  operations: 'all',
  quotaPerSecond: {},
};

export type ScriptedFault =
  | 'throttle'
  | 'service-unavailable'
  | 'internal-failure'
  | 'access-denied'
  | 'drop-connection'
  | { readonly error: string; readonly message?: string; readonly status?: number };

export type FaultDecision =
  | { readonly kind: 'pass'; readonly delayMs: number }
  | { readonly kind: 'error'; readonly delayMs: number; readonly error: ServiceError }
  | { readonly kind: 'drop'; readonly delayMs: number };

interface Scripted {
  readonly operation: string;
  readonly fault: ScriptedFault;
  remaining: number;
}

const throttling = (): ServiceError => new ServiceError('ThrottlingException', 'Rate exceeded');

export class FaultInjector {
  #settings: FaultSettings;
  readonly #random: Random;
  readonly #script: Scripted[] = [];
  readonly #admitted = new Map<string, number[]>();

  constructor(random: Random, initial: Partial<FaultSettings> = {}) {
    this.#random = random;
    this.#settings = { ...NO_FAULTS, ...initial };
  }

  get settings(): FaultSettings {
    return this.#settings;
  }

  set(partial: Partial<FaultSettings>): void {
    this.#settings = { ...this.#settings, ...partial };
  }

  clear(): void {
    this.#settings = NO_FAULTS;
    this.#script.length = 0;
  }

  /** The next `times` calls of `operation` ('*' for any) get `fault`, before any rate-based fault. */
  script(operation: string, fault: ScriptedFault, times: number): void {
    this.#script.push({ operation, fault, remaining: times });
  }

  /** Decided when the request arrives, so the sequence of outcomes follows the order of calls. */
  decide(operation: string, nowMs: number): FaultDecision {
    const s = this.#settings;
    const inScope = s.operations === 'all' || s.operations.includes(operation);
    const delayMs = inScope ? s.delayMs : 0;

    const scripted = this.#script.find((x) => x.operation === '*' || x.operation === operation);
    if (scripted) {
      if (--scripted.remaining <= 0) this.#script.splice(this.#script.indexOf(scripted), 1);
      return this.#scripted(scripted.fault, operation, delayMs);
    }
    if (inScope && s.accessDenied) return { kind: 'error', delayMs, error: accessDenied(operation) };

    const quota = s.quotaPerSecond[operation];
    if (quota !== undefined) {
      const recent = (this.#admitted.get(operation) ?? []).filter((at) => nowMs - at < 1000);
      this.#admitted.set(operation, recent);
      if (recent.length >= quota) return { kind: 'error', delayMs, error: throttling() };
      recent.push(nowMs);
    }

    if (!inScope) return { kind: 'pass', delayMs };
    // Always draw all three, so changing one rate does not shift the others' sequence.
    const drop = this.#random.float();
    const throttle = this.#random.float();
    const server = this.#random.float();
    if (drop < s.dropConnectionRate) return { kind: 'drop', delayMs };
    if (throttle < s.throttleRate) return { kind: 'error', delayMs, error: throttling() };
    if (server < s.serverErrorRate) return { kind: 'error', delayMs, error: this.#serverError(s.serverErrorKind) };
    return { kind: 'pass', delayMs };
  }

  #scripted(fault: ScriptedFault, operation: string, delayMs: number): FaultDecision {
    switch (fault) {
      case 'throttle':
        return { kind: 'error', delayMs, error: throttling() };
      case 'service-unavailable':
        return { kind: 'error', delayMs, error: this.#serverError('ServiceUnavailableException') };
      case 'internal-failure':
        return { kind: 'error', delayMs, error: this.#serverError('InternalFailure') };
      case 'access-denied':
        return { kind: 'error', delayMs, error: accessDenied(operation) };
      case 'drop-connection':
        return { kind: 'drop', delayMs };
      default:
        return {
          kind: 'error',
          delayMs,
          error: new ServiceError(fault.error, fault.message ?? fault.error, fault.status ?? 400),
        };
    }
  }

  #serverError(kind: ServerErrorKind): ServiceError {
    return kind === 'InternalFailure'
      ? new ServiceError('InternalFailure', 'The request processing has failed because of an unknown error.', 500)
      : new ServiceError(
          'ServiceUnavailableException',
          'The service cannot complete the request.',
          this.#settings.serviceUnavailableStatus,
        );
  }
}

function accessDenied(operation: string): ServiceError {
  return new ServiceError(
    'AccessDeniedException',
    `User: arn:aws:sts::123456789012:assumed-role/kms-change-exporter/fake is not authorized to perform: logs:${operation} because no identity-based policy allows the logs:${operation} action`,
  );
}
