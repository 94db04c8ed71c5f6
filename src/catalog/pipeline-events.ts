// The second catalog: the delivery pipeline's own configuration events (trail, log group, subscription, Firehose, EventBridge), as one data table.

export type PipelineCategory =
  | 'trail'
  | 'event_selectors'
  | 'subscription_filter'
  | 'log_group'
  | 'log_stream'
  | 'retention'
  | 'account_policy'
  | 'log_encryption'
  | 'delivery_stream'
  | 'event_rule';

/**
 * `blinds`: stops or narrows the delivery of KMS events (nothing, or less, reaches the exporter);
 * `weakens`: delivery goes on, but its protection or its reach changed (retention, encryption, a re-pointed destination).
 */
export type Blinding = 'blinds' | 'weakens';

export const BLINDING_VALUES: readonly Blinding[] = ['blinds', 'weakens'];

/** What the record names, which decides the fields read for "what changed" and the own-path check. */
export type PipelineSubject = 'trail' | 'log_group' | 'account_policy' | 'delivery_stream' | 'rule';

export interface PipelineCatalogEntry {
  readonly eventSource: string;
  readonly eventName: string;
  readonly category: PipelineCategory;
  /** The default; the classifier decides from the request for PutEventSelectors, PutRule and UpdateTrail. */
  readonly blinding: Blinding;
  readonly subject: PipelineSubject;
  /** Past-tense phrase for the log body, after the principal; `{trail}`, `{logGroup}`, `{filter}`, `{stream}`, `{rule}`, `{deliveryStream}`, `{policy}` are filled from the record. */
  readonly phrase: string;
}

export const CLOUDTRAIL_EVENT_SOURCE = 'cloudtrail.amazonaws.com';
export const LOGS_EVENT_SOURCE = 'logs.amazonaws.com';
export const FIREHOSE_EVENT_SOURCE = 'firehose.amazonaws.com';
export const EVENTS_EVENT_SOURCE = 'events.amazonaws.com';

/** The account policy type that is a subscription filter; PutAccountPolicy/DeleteAccountPolicy of other types (data protection, field index...) are not pipeline changes. */
export const SUBSCRIPTION_FILTER_POLICY = 'SUBSCRIPTION_FILTER_POLICY';

type Row = readonly [eventSource: string, eventName: string, category: PipelineCategory, blinding: Blinding, subject: PipelineSubject, phrase: string];

const ROWS: readonly Row[] = [
  [CLOUDTRAIL_EVENT_SOURCE, 'StopLogging', 'trail', 'blinds', 'trail', 'stopped logging of trail {trail}'],
  [CLOUDTRAIL_EVENT_SOURCE, 'DeleteTrail', 'trail', 'blinds', 'trail', 'deleted trail {trail}'],
  [CLOUDTRAIL_EVENT_SOURCE, 'UpdateTrail', 'trail', 'weakens', 'trail', 'updated trail {trail}'],
  [CLOUDTRAIL_EVENT_SOURCE, 'PutEventSelectors', 'event_selectors', 'weakens', 'trail', 'changed the event selectors of trail {trail}'],
  [LOGS_EVENT_SOURCE, 'DeleteSubscriptionFilter', 'subscription_filter', 'blinds', 'log_group', 'deleted subscription filter {filter} of log group {logGroup}'],
  [LOGS_EVENT_SOURCE, 'PutSubscriptionFilter', 'subscription_filter', 'weakens', 'log_group', 'put subscription filter {filter} on log group {logGroup}'],
  [LOGS_EVENT_SOURCE, 'DeleteLogGroup', 'log_group', 'blinds', 'log_group', 'deleted log group {logGroup}'],
  [LOGS_EVENT_SOURCE, 'DeleteLogStream', 'log_stream', 'weakens', 'log_group', 'deleted log stream {stream} of log group {logGroup}'],
  [LOGS_EVENT_SOURCE, 'PutRetentionPolicy', 'retention', 'weakens', 'log_group', 'set the retention of log group {logGroup} to {retention} days'],
  [LOGS_EVENT_SOURCE, 'PutAccountPolicy', 'account_policy', 'weakens', 'account_policy', 'put account subscription filter policy {policy}'],
  [LOGS_EVENT_SOURCE, 'DeleteAccountPolicy', 'account_policy', 'blinds', 'account_policy', 'deleted account subscription filter policy {policy}'],
  [LOGS_EVENT_SOURCE, 'DisassociateKmsKey', 'log_encryption', 'weakens', 'log_group', 'removed the KMS key of log group {logGroup}'],
  [FIREHOSE_EVENT_SOURCE, 'DeleteDeliveryStream', 'delivery_stream', 'blinds', 'delivery_stream', 'deleted Firehose stream {deliveryStream}'],
  [FIREHOSE_EVENT_SOURCE, 'UpdateDestination', 'delivery_stream', 'weakens', 'delivery_stream', 'changed the destination of Firehose stream {deliveryStream}'],
  [EVENTS_EVENT_SOURCE, 'DisableRule', 'event_rule', 'blinds', 'rule', 'disabled EventBridge rule {rule}'],
  [EVENTS_EVENT_SOURCE, 'DeleteRule', 'event_rule', 'blinds', 'rule', 'deleted EventBridge rule {rule}'],
  [EVENTS_EVENT_SOURCE, 'RemoveTargets', 'event_rule', 'blinds', 'rule', 'removed targets from EventBridge rule {rule}'],
  [EVENTS_EVENT_SOURCE, 'PutRule', 'event_rule', 'weakens', 'rule', 'put EventBridge rule {rule}'],
];

export const PIPELINE_CATALOG: readonly PipelineCatalogEntry[] = Object.freeze(
  ROWS.map(([eventSource, eventName, category, blinding, subject, phrase]) => Object.freeze({ eventSource, eventName, category, blinding, subject, phrase })),
);

const BY_NAME: ReadonlyMap<string, PipelineCatalogEntry> = new Map(PIPELINE_CATALOG.map((entry) => [`${entry.eventSource}\u0000${entry.eventName}`, entry]));

/** The pipeline catalog entry for a CloudTrail (eventSource, eventName) pair, if it is a pipeline change we count. */
export function lookupPipeline(eventSource: string, eventName: string): PipelineCatalogEntry | undefined {
  return BY_NAME.get(`${eventSource}\u0000${eventName}`);
}

export const PIPELINE_EVENT_NAMES: ReadonlySet<string> = new Set(PIPELINE_CATALOG.map((entry) => entry.eventName));
