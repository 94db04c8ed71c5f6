// What every counted CloudTrail change carries whatever its catalog: outcome, time, account, region, principal and the call's context.

import type { InvalidReason } from '../record-batch.ts';
import type { Principal } from './principal.ts';
import { readPrincipal } from './principal.ts';

export type Outcome = 'success' | 'failure';

export interface ChangeEnvelope {
  readonly outcome: Outcome;
  /** CloudTrail's eventID; undefined when the record has none (it cannot be de-duplicated). */
  readonly eventId: string | undefined;
  readonly eventTime: number;
  /** `recipientAccountId`, as a label-safe value (`unknown` when absent or malformed). */
  readonly accountId: string;
  readonly region: string;
  readonly principal: Principal;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly sourceIp: string | undefined;
  readonly userAgent: string | undefined;
  /** CloudTrail's `sessionCredentialFromConsole`: the call came from an AWS Management Console session (the field is present only when "true"). */
  readonly sessionCredentialFromConsole: boolean;
  readonly requestId: string | undefined;
}

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
// Error codes are AWS's words; anything else is folded so a label cannot carry free text.
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9.:_-]{0,63}$/;

export function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The envelope of a record already known to be in a catalog, or why it cannot be counted. Never throws. */
export function readEnvelope(record: Record<string, unknown>, eventName: string): ChangeEnvelope | { readonly invalid: InvalidReason; readonly detail: string } {
  const eventTime = typeof record['eventTime'] === 'string' ? Date.parse(record['eventTime']) : Number.NaN;
  if (Number.isNaN(eventTime)) return { invalid: 'wrong_type', detail: `${eventName}: eventTime is missing or not a timestamp` };
  const errorCodeValue = record['errorCode'];
  if (errorCodeValue !== undefined && errorCodeValue !== null && typeof errorCodeValue !== 'string') return { invalid: 'wrong_type', detail: `${eventName}: errorCode is not a string` };
  const errorCode = optionalText(errorCodeValue);
  const rawAccount = optionalText(record['recipientAccountId']);
  const rawRegion = optionalText(record['awsRegion']);
  return {
    outcome: errorCode === undefined ? 'success' : 'failure',
    eventId: optionalText(record['eventID']),
    eventTime,
    accountId: rawAccount !== undefined && ACCOUNT.test(rawAccount) ? rawAccount : 'unknown',
    region: rawRegion !== undefined && REGION.test(rawRegion) ? rawRegion : 'unknown',
    principal: readPrincipal(record['userIdentity'], record['eventType'], record['sourceIPAddress'], record['eventSource']),
    errorCode: errorCode === undefined ? undefined : ERROR_CODE.test(errorCode) ? errorCode : 'other',
    errorMessage: optionalText(record['errorMessage']),
    sourceIp: optionalText(record['sourceIPAddress']),
    userAgent: optionalText(record['userAgent']),
    sessionCredentialFromConsole: record['sessionCredentialFromConsole'] === 'true' || record['sessionCredentialFromConsole'] === true,
    requestId: optionalText(record['requestID']),
  };
}
