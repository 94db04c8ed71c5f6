// Every instrument the exporter has, declared once under its final Prometheus name.
//
// Counters are observable: their values live in the CounterLedger (so a checkpoint can be
// written ahead of applying a batch, and restored exactly), and the instruments report them
// at each collection. Counters are named with `_total` and durations with `_seconds` here:
// the Prometheus serializer adds no unit suffix and leaves an existing `_total` alone, so
// the name in code is the name users query.

import type { Gauge, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import type { CounterLedger } from './counter-ledger.ts';

export const METRIC = {
  changes: 'kms_config_changes_total',
  failures: 'kms_config_change_failures_total',
  findings: 'kms_config_change_findings_total',
  pipelineChanges: 'kms_pipeline_changes_total',
  pipelineFailures: 'kms_pipeline_change_failures_total',
  accountInfo: 'kms_aws_account_info',
  pendingDeletion: 'kms_key_pending_deletion_timestamp_seconds',
  materialExpiry: 'kms_key_material_expiry_timestamp_seconds',
  records: 'kms_exporter_records_total',
  invalidRecords: 'kms_exporter_invalid_records_total',
  eventDelay: 'kms_exporter_event_delay_seconds',
  lastEvent: 'kms_exporter_last_event_timestamp_seconds',
  sourceErrors: 'kms_exporter_source_errors_total',
  sourceEvents: 'kms_exporter_source_events_total',
  awsRequests: 'kms_exporter_aws_requests_total',
  stateEntries: 'kms_exporter_state_entries',
  stateLimit: 'kms_exporter_state_limit',
  stateEvictions: 'kms_exporter_state_evictions_total',
  stateUp: 'kms_exporter_state_store_up',
  stateErrors: 'kms_exporter_state_errors_total',
  buildInfo: 'kms_exporter_build_info',
  pushInflight: 'kms_exporter_push_inflight_bytes',
  pushInflightLimit: 'kms_exporter_push_inflight_limit_bytes',
  heartbeatSent: 'kms_exporter_heartbeat_sent_timestamp_seconds',
  heartbeatSeen: 'kms_exporter_heartbeat_seen_timestamp_seconds',
} as const;

/** The counters, all kept in the ledger. */
export const LEDGER_COUNTERS = [METRIC.changes, METRIC.failures, METRIC.findings, METRIC.pipelineChanges, METRIC.pipelineFailures, METRIC.records, METRIC.invalidRecords, METRIC.sourceErrors, METRIC.sourceEvents, METRIC.awsRequests, METRIC.stateEvictions, METRIC.stateErrors] as const;

export const COUNTER_HELP: Readonly<Record<(typeof LEDGER_COUNTERS)[number], string>> = {
  [METRIC.changes]: 'Successful AWS KMS configuration changes seen in CloudTrail.',
  [METRIC.failures]: 'Failed attempts at AWS KMS configuration changes (CloudTrail records with an errorCode).',
  [METRIC.findings]: 'Findings of KMS configuration changes (what a change does: a key policy opened, a grant to another account, a short deletion window...), once per change and finding, successful or failed.',
  [METRIC.pipelineChanges]: 'Successful changes of the delivery pipeline itself (CloudTrail trails and event selectors, CloudWatch Logs groups and subscriptions, Firehose streams, EventBridge rules); blinding says whether the change stops or narrows the delivery of KMS events.',
  [METRIC.pipelineFailures]: 'Failed attempts at changing the delivery pipeline itself (CloudTrail records with an errorCode).',
  [METRIC.records]: 'CloudTrail records read, by source and result (matched, ignored, invalid, duplicate).',
  [METRIC.invalidRecords]: 'Records that could not be decoded, by source and reason.',
  [METRIC.sourceErrors]: 'Errors of a source (AWS API errors, network failures, refused requests), by kind.',
  [METRIC.sourceEvents]: 'Informational events of a source that are not errors (live-tail sampling and session ends, acknowledged retries), by kind.',
  [METRIC.awsRequests]: 'AWS API calls made by the exporter, by operation and outcome.',
  [METRIC.stateEvictions]: 'Entries dropped from a bounded state table because it was full, by table.',
  [METRIC.stateErrors]: 'Failures of the state store (checkpoint file or Redis/Valkey), by store and kind.',
};

/** Buckets for CloudTrail's delivery delay: seconds for live tail up to a day for replays. */
export const EVENT_DELAY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400];

export interface Instruments {
  readonly pendingDeletion: ObservableGauge;
  readonly materialExpiry: ObservableGauge;
  readonly eventDelay: Histogram;
  readonly lastEvent: ObservableGauge;
  readonly stateEntries: ObservableGauge;
  readonly stateLimit: ObservableGauge;
  readonly stateUp: ObservableGauge;
  readonly buildInfo: Gauge;
  readonly accountInfo: Gauge;
  readonly pushInflight: ObservableGauge;
  readonly pushInflightLimit: ObservableGauge;
  readonly heartbeatSent: ObservableGauge;
  readonly heartbeatSeen: ObservableGauge;
}

export function declareInstruments(meter: Meter, ledger: CounterLedger): Instruments {
  for (const name of LEDGER_COUNTERS) {
    const counter = meter.createObservableCounter(name, { description: COUNTER_HELP[name] });
    counter.addCallback((result) => {
      for (const series of ledger.series(name)) result.observe(series.value, series.labels);
    });
  }
  return {
    pendingDeletion: meter.createObservableGauge(METRIC.pendingDeletion, {
      description: 'When a KMS key scheduled for deletion will be deleted, as a Unix timestamp; removed when the deletion is cancelled or done.',
    }),
    materialExpiry: meter.createObservableGauge(METRIC.materialExpiry, {
      description: 'When the imported key material of a KMS key expires, as a Unix timestamp (ImportKeyMaterial with KEY_MATERIAL_EXPIRES); removed when the material is deleted or the key is.',
    }),
    eventDelay: meter.createHistogram(METRIC.eventDelay, {
      description: 'Time from a KMS change (CloudTrail eventTime) to the exporter receiving it.',
      advice: { explicitBucketBoundaries: EVENT_DELAY_BUCKETS },
    }),
    lastEvent: meter.createObservableGauge(METRIC.lastEvent, {
      description: 'CloudTrail eventTime of the newest KMS change received, as a Unix timestamp (never later than its arrival).',
    }),
    stateEntries: meter.createObservableGauge(METRIC.stateEntries, {
      description: 'Entries held in a bounded state table, by table.',
    }),
    stateLimit: meter.createObservableGauge(METRIC.stateLimit, {
      description: 'The configured limit of a bounded state table, by table.',
    }),
    stateUp: meter.createObservableGauge(METRIC.stateUp, {
      description: '1 when the state store (checkpoint file or Redis/Valkey) answers, 0 when it does not.',
    }),
    buildInfo: meter.createGauge(METRIC.buildInfo, {
      description: 'Always 1; labels carry the exporter version and the Node.js version.',
    }),
    accountInfo: meter.createGauge(METRIC.accountInfo, {
      description: 'Always 1, one series per account of the --accounts file; labels carry its name, environment and owner, for joins in alerts and dashboards.',
    }),
    pushInflight: meter.createObservableGauge(METRIC.pushInflight, {
      description: 'Request body bytes the push endpoints hold right now (read or reserved, not yet answered).',
    }),
    pushInflightLimit: meter.createObservableGauge(METRIC.pushInflightLimit, {
      description: 'The configured budget of in-flight push body bytes (--push-max-inflight); beyond it requests get 503.',
    }),
    heartbeatSent: meter.createObservableGauge(METRIC.heartbeatSent, {
      description: 'When the newest heartbeat (a TagResource on the canary key) was sent and accepted by KMS, as a Unix timestamp, per canary key.',
    }),
    heartbeatSeen: meter.createObservableGauge(METRIC.heartbeatSeen, {
      description:
        'Send time of the newest heartbeat that came back through a source (its CloudTrail record), as a Unix timestamp, per canary key; until one comes back, the send time of the first heartbeat, so the lag behind kms_exporter_heartbeat_sent_timestamp_seconds counts from there.',
    }),
  };
}
