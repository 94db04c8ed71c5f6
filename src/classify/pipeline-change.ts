// The total function from a parsed CloudTrail record to a change of the delivery pipeline itself (trail, log group, subscription, Firehose, EventBridge).

import type { Blinding, PipelineCatalogEntry } from '../catalog/pipeline-events.ts';
import { lookupPipeline, SUBSCRIPTION_FILTER_POLICY } from '../catalog/pipeline-events.ts';
import { KMS_EVENT_SOURCE } from '../catalog/kms-events.ts';
import type { InvalidReason } from '../record-batch.ts';
import type { ChangeEnvelope } from './change-envelope.ts';
import { object, optionalText, readEnvelope } from './change-envelope.ts';

/** The exporter's own delivery path: what a change must name to be "ours". Names or ARNs, as configured. */
export interface OwnPath {
  /** `--log-group`: the CloudTrail log groups the exporter reads (names or ARNs). */
  readonly logGroups: readonly string[];
  /** Firehose streams of the push path. */
  readonly deliveryStreams: readonly string[];
  /** EventBridge rules of the push path. */
  readonly rules: readonly string[];
}

export const NO_OWN_PATH: OwnPath = Object.freeze({ logGroups: [], deliveryStreams: [], rules: [] });

/** What the change acts on and what it changed, as far as the record says. */
export interface PipelineTarget {
  readonly trail: string | undefined;
  readonly logGroup: string | undefined;
  readonly filterName: string | undefined;
  readonly logStream: string | undefined;
  readonly deliveryStream: string | undefined;
  readonly rule: string | undefined;
  readonly policyName: string | undefined;
  readonly retentionInDays: number | undefined;
  /** PutSubscriptionFilter / UpdateTrail / PutRule: where the filter delivers, the trail's log group, the rule's state. */
  readonly destination: string | undefined;
  readonly filterPattern: string | undefined;
  readonly ruleState: string | undefined;
  /** PutEventSelectors: the new selectors as the request gave them (JSON); CloudTrail records never carry the old ones. */
  readonly selectorsAfter: string | undefined;
}

export interface PipelineChange extends ChangeEnvelope {
  readonly kind: 'pipeline';
  readonly entry: PipelineCatalogEntry;
  /** Decided from the request where the event's effect depends on it (PutEventSelectors, PutRule, UpdateTrail). */
  readonly blinding: Blinding;
  /** Why it blinds, in words, when the classifier decided from the request. */
  readonly blindingReason: string | undefined;
  readonly target: PipelineTarget;
  /** The change names a log group, stream or rule of the exporter's own path; undefined when the record names none we can compare. */
  readonly ownPath: boolean | undefined;
}

export type PipelineClassification =
  | { readonly kind: 'pipeline_change'; readonly change: PipelineChange }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'invalid'; readonly reason: InvalidReason; readonly detail: string };

const IGNORED: PipelineClassification = Object.freeze({ kind: 'ignored' });

function text(value: unknown, max = 2048): string | undefined {
  const found = optionalText(value);
  return found !== undefined && found.length <= max ? found : undefined;
}

/** The last path segment of an ARN (`arn:aws:logs:…:log-group:NAME:*`, `…:trail/NAME`, `…:deliverystream/NAME`, `…:rule/[bus/]NAME`), or the value itself. */
function nameOf(value: string): string {
  if (!value.startsWith('arn:')) return value;
  const logGroup = /:log-group:([^:]+)(?::\*)?$/.exec(value);
  if (logGroup !== null) return logGroup[1]!;
  const slash = value.lastIndexOf('/');
  return slash === -1 ? value : value.slice(slash + 1);
}

function sameName(a: string, b: string): boolean {
  return a === b || nameOf(a) === nameOf(b);
}

function json(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    const out = JSON.stringify(value);
    return out.length <= 16 * 1024 ? out : undefined;
  } catch {
    return undefined;
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * Basic selectors deliver KMS change events when one of them includes management events
 * (the default), is not ReadOnly, and does not exclude kms.amazonaws.com.
 */
function basicSelectorsDeliverKms(selectors: unknown[]): boolean {
  return selectors.some((raw) => {
    const selector = object(raw);
    if (selector['includeManagementEvents'] === false) return false;
    if (selector['readWriteType'] === 'ReadOnly') return false;
    return !strings(selector['excludeManagementEventSources']).includes(KMS_EVENT_SOURCE);
  });
}

/** One advanced field selector's verdict on a value: every condition it has must hold (AWS ANDs the operators of one field). */
function fieldAdmits(field: Record<string, unknown>, value: string): boolean {
  const equals = strings(field['equals']);
  if (Array.isArray(field['equals']) && !equals.includes(value)) return false;
  if (strings(field['notEquals']).includes(value)) return false;
  const startsWith = strings(field['startsWith']);
  if (Array.isArray(field['startsWith']) && !startsWith.some((prefix) => value.startsWith(prefix))) return false;
  if (strings(field['notStartsWith']).some((prefix) => value.startsWith(prefix))) return false;
  const endsWith = strings(field['endsWith']);
  if (Array.isArray(field['endsWith']) && !endsWith.some((suffix) => value.endsWith(suffix))) return false;
  if (strings(field['notEndsWith']).some((suffix) => value.endsWith(suffix))) return false;
  return true;
}

/**
 * An advanced selector delivers KMS change events when it selects management events and
 * admits a write (readOnly "false") from kms.amazonaws.com. A selector's fields are ANDed;
 * selectors are ORed.
 */
function advancedSelectorsDeliverKms(selectors: unknown[]): boolean {
  const sample: Record<string, string> = { eventCategory: 'Management', readOnly: 'false', eventSource: KMS_EVENT_SOURCE };
  return selectors.some((raw) => {
    const fields = object(raw)['fieldSelectors'];
    if (!Array.isArray(fields)) return false;
    let category = false;
    for (const rawField of fields) {
      const field = object(rawField);
      const name = field['field'];
      if (typeof name !== 'string') continue;
      if (name === 'eventCategory') category = fieldAdmits(field, 'Management');
      const value = sample[name];
      // A field KMS change events have no value for (resources.type, eventName...) narrows to events we cannot rule in: assume it may still admit some.
      if (value !== undefined && !fieldAdmits(field, value)) return false;
    }
    return category;
  });
}

function selectorBlinding(request: Record<string, unknown>): { blinding: Blinding; reason: string | undefined } {
  const advanced = request['advancedEventSelectors'];
  const basic = request['eventSelectors'];
  if (Array.isArray(advanced)) {
    return advancedSelectorsDeliverKms(advanced)
      ? { blinding: 'weakens', reason: undefined }
      : { blinding: 'blinds', reason: 'no advanced event selector admits write management events from kms.amazonaws.com' };
  }
  if (Array.isArray(basic)) {
    return basicSelectorsDeliverKms(basic)
      ? { blinding: 'weakens', reason: undefined }
      : { blinding: 'blinds', reason: 'no event selector includes write management events from kms.amazonaws.com' };
  }
  return { blinding: 'weakens', reason: undefined };
}

function readTarget(entry: PipelineCatalogEntry, request: Record<string, unknown>, response: Record<string, unknown>): PipelineTarget {
  const name = text(request['name']);
  const retention = request['retentionInDays'];
  const isSelectors = entry.eventName === 'PutEventSelectors';
  return {
    trail: entry.subject === 'trail' ? (text(request['trailName']) ?? name ?? text(response['trailARN'])) : undefined,
    logGroup: text(request['logGroupName']) ?? text(request['logGroupIdentifier']) ?? text(request['resourceIdentifier']) ?? (entry.subject === 'trail' ? text(request['cloudWatchLogsLogGroupArn']) : undefined),
    filterName: text(request['filterName']),
    logStream: text(request['logStreamName']),
    deliveryStream: text(request['deliveryStreamName']),
    rule: entry.subject === 'rule' ? (text(request['rule']) ?? name) : undefined,
    policyName: text(request['policyName']),
    retentionInDays: typeof retention === 'number' && Number.isInteger(retention) && retention > 0 ? retention : undefined,
    destination: text(request['destinationArn']),
    filterPattern: typeof request['filterPattern'] === 'string' ? (request['filterPattern'] as string).slice(0, 1024) : undefined,
    ruleState: text(request['state'], 64),
    selectorsAfter: isSelectors ? json(request['advancedEventSelectors'] ?? request['eventSelectors']) : undefined,
  };
}

function ownPathOf(target: PipelineTarget, own: OwnPath): boolean | undefined {
  const checks: boolean[] = [];
  if (target.logGroup !== undefined && own.logGroups.length > 0) checks.push(own.logGroups.some((group) => sameName(group, target.logGroup!)));
  if (target.deliveryStream !== undefined && own.deliveryStreams.length > 0) checks.push(own.deliveryStreams.some((stream) => sameName(stream, target.deliveryStream!)));
  if (target.rule !== undefined && own.rules.length > 0) checks.push(own.rules.some((rule) => sameName(rule, target.rule!)));
  return checks.length === 0 ? undefined : checks.some(Boolean);
}

/**
 * Never throws: every input has a classification. Records outside the pipeline catalog are
 * ignored; the account policy events count only for the subscription-filter type.
 */
export function classifyPipelineRecord(value: unknown, own: OwnPath = NO_OWN_PATH): PipelineClassification {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return IGNORED;
  const record = value as Record<string, unknown>;
  const { eventSource, eventName } = record;
  if (typeof eventSource !== 'string' || typeof eventName !== 'string') return IGNORED;
  const entry = lookupPipeline(eventSource, eventName);
  if (entry === undefined) return IGNORED;
  const request = object(record['requestParameters']);
  const response = object(record['responseElements']);
  if (entry.subject === 'account_policy' && request['policyType'] !== SUBSCRIPTION_FILTER_POLICY) return IGNORED;

  const envelope = readEnvelope(record, eventName);
  if ('invalid' in envelope) return { kind: 'invalid', reason: envelope.invalid, detail: envelope.detail };
  const target = readTarget(entry, request, response);

  let blinding = entry.blinding;
  let blindingReason: string | undefined;
  if (entry.eventName === 'PutEventSelectors') ({ blinding, reason: blindingReason } = selectorBlinding(request));
  else if (entry.eventName === 'PutRule' && target.ruleState === 'DISABLED') {
    blinding = 'blinds';
    blindingReason = 'the rule was put with state DISABLED';
  } else if (entry.eventName === 'UpdateTrail' && request['cloudWatchLogsLogGroupArn'] === '') {
    // An empty log group ARN detaches the trail from CloudWatch Logs: the poll, live-tail and firehose sources go dark.
    blinding = 'blinds';
    blindingReason = 'the trail no longer delivers to CloudWatch Logs';
  }

  return {
    kind: 'pipeline_change',
    change: { kind: 'pipeline', entry, ...envelope, blinding, blindingReason, target, ownPath: ownPathOf(target, own) },
  };
}
