// The EventBridge rule pattern that selects both catalogs' CloudTrail events on a bus exactly: one `$or` branch per (detail type, event source).
import { CATALOG, KMS_EVENT_SOURCE } from './kms-events.ts';
import type { CatalogEntry } from './kms-events.ts';
import { CLOUDTRAIL_EVENT_SOURCE, EVENTS_EVENT_SOURCE, FIREHOSE_EVENT_SOURCE, LOGS_EVENT_SOURCE, PIPELINE_CATALOG } from './pipeline-events.ts';

/** What the pattern needs of a row; a pipeline row is always an API call. */
export type EventPatternRow = Pick<CatalogEntry, 'eventSource' | 'eventName'> & { readonly serviceEvent?: boolean };

/**
 * "Event pattern size: 2,048 characters" by default (adjustable to 4,096 on request), per rule:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html — we stay within the default.
 */
export const EVENT_PATTERN_MAX_LENGTH = 2048;

/**
 * The `detail-type` CloudTrail gives an event on the default bus: requests to a public API, and events
 * AWS services create themselves (DeleteKey at the end of a waiting period, RotateKey...), whose CloudTrail
 * `eventType` is AwsServiceEvent. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
 */
export const API_CALL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
export const SERVICE_EVENT_DETAIL_TYPE = 'AWS Service Event via CloudTrail';

/**
 * The event's `source` for a CloudTrail `eventSource`, as each service's page of the EventBridge event
 * reference gives it ("source: aws.kms, eventSource: kms.amazonaws.com"):
 * https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-kms.html, events-ref-cloudtrail.html,
 * events-ref-logs.html, events-ref-firehose.html, events-ref-events.html. A table, not a string rule: a new
 * service must be looked up (and fails the build until it is), since not every service follows "aws." + prefix.
 */
export const EVENTBRIDGE_SOURCE: Readonly<Record<string, string>> = Object.freeze({
  [KMS_EVENT_SOURCE]: 'aws.kms',
  [CLOUDTRAIL_EVENT_SOURCE]: 'aws.cloudtrail',
  [LOGS_EVENT_SOURCE]: 'aws.logs',
  [FIREHOSE_EVENT_SOURCE]: 'aws.firehose',
  [EVENTS_EVENT_SOURCE]: 'aws.events',
});

/** One alternative: every field must match (AND), any value of an array may (OR). */
export interface EventPatternBranch {
  readonly 'detail-type': readonly [string];
  readonly source: readonly [string];
  readonly detail: { readonly eventSource: readonly [string]; readonly eventName: readonly string[] };
}

export interface EventPattern {
  readonly $or: readonly EventPatternBranch[];
}

// Names are matched as exact strings, but keep them to what CloudTrail uses so a typo in a row shows up here.
const EVENT_NAME = /^[A-Za-z0-9]+$/;

/**
 * Builds the pattern:
 *
 *   { "$or": [ { "detail-type": ["AWS API Call via CloudTrail"], "source": ["aws.cloudtrail"],
 *                "detail": { "eventSource": ["cloudtrail.amazonaws.com"], "eventName": ["DeleteTrail", …] } }, … ] }
 *
 * Why this shape (EventBridge User Guide, "Event patterns", "Arrays in event patterns" and "Comparison
 * operators", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html):
 * - fields of one object must all match, the values of one array are alternatives, a field the event lacks
 *   never matches; `$or` takes a list of patterns of which one must match.
 * - One pattern with an eventSource array and an eventName array would select their whole product: the
 *   KMS catalog's TagResource would admit CloudWatch Logs' and EventBridge's TagResource, the pipeline's
 *   DeleteRule any source's. One branch per event source keeps the pairs exact, and splitting KMS into
 *   its API calls and its service events keeps the detail type exact too.
 * - `source` is implied by `eventSource` for CloudTrail events; it is matched as well, as AWS's own
 *   examples do, which keeps a custom application event with a CloudTrail-shaped detail out.
 * The branches are plain exact-match values (no wildcards, no nested `$or`): the cheapest kind for the
 * rule-complexity check EventBridge applies (InvalidEventPatternException "Rule is too complex"), which
 * publishes no figure; five or six branches is far below anything AWS shows in its own examples.
 * Branches are ordered by source then detail type and names are sorted, so the printed pattern only
 * changes when the set of events does.
 *
 * Throws if a row's source has no known EventBridge source, or if the pattern exceeds the size quota.
 */
export function buildEventPattern(catalog: readonly EventPatternRow[] = CATALOG, pipeline: readonly EventPatternRow[] = PIPELINE_CATALOG): EventPattern {
  const groups = new Map<string, { detailType: string; eventSource: string; names: Set<string> }>();
  for (const row of [...catalog, ...pipeline]) {
    if (!EVENT_NAME.test(row.eventName)) throw new Error(`event pattern: event name ${JSON.stringify(row.eventName)} is not a CloudTrail event name`);
    if (!Object.hasOwn(EVENTBRIDGE_SOURCE, row.eventSource)) {
      throw new Error(`event pattern: no EventBridge source is known for ${JSON.stringify(row.eventSource)}; look it up in the EventBridge event reference and add it to EVENTBRIDGE_SOURCE`);
    }
    const detailType = row.serviceEvent === true ? SERVICE_EVENT_DETAIL_TYPE : API_CALL_DETAIL_TYPE;
    const key = `${row.eventSource}\u0000${detailType}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { detailType, eventSource: row.eventSource, names: new Set() };
      groups.set(key, group);
    }
    group.names.add(row.eventName);
  }
  // An empty $or would be refused, and an empty pattern would select everything: never let an empty catalog through.
  if (groups.size === 0) throw new Error('event pattern: the catalog is empty');

  const branches = [...groups.values()]
    .sort((a, b) => (a.eventSource === b.eventSource ? compare(a.detailType, b.detailType) : compare(a.eventSource, b.eventSource)))
    .map((group): EventPatternBranch => ({
      'detail-type': [group.detailType],
      source: [EVENTBRIDGE_SOURCE[group.eventSource]!],
      detail: { eventSource: [group.eventSource], eventName: [...group.names].sort(compare) },
    }));
  const pattern: EventPattern = { $or: branches };
  const length = JSON.stringify(pattern).length;
  if (length > EVENT_PATTERN_MAX_LENGTH) {
    throw new Error(`event pattern: ${length} characters for ${catalog.length + pipeline.length} catalog rows, but EventBridge allows at most ${EVENT_PATTERN_MAX_LENGTH} by default`);
  }
  return pattern;
}

/** Code-unit order, the same on every machine (localeCompare is not). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The pattern as the CLI prints it: one branch per line. Readable, and still within the size quota as
 * given (EventBridge counts the characters it is sent, whitespace included, and an indented print of
 * every name on its own line would not fit), so it can be passed to `aws events put-rule` as is.
 */
export function formatEventPattern(pattern: EventPattern): string {
  return `{\n  "$or": [\n${pattern.$or.map((branch) => `    ${JSON.stringify(branch)}`).join(',\n')}\n  ]\n}`;
}
