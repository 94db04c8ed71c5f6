// Every instrument the exporter has, declared once under its final Prometheus name.

import type { Counter, Gauge, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';

// Counters are named with `_total` and durations with `_seconds` here: the Prometheus
// serializer adds no unit suffix and leaves an existing `_total` alone, so the name in
// code is the name users query.
export const METRIC = {
  changes: 'kms_config_changes_total',
  failures: 'kms_config_change_failures_total',
  pendingDeletion: 'kms_key_pending_deletion_timestamp_seconds',
  records: 'kms_exporter_records_total',
  invalidRecords: 'kms_exporter_invalid_records_total',
  eventDelay: 'kms_exporter_event_delay_seconds',
  lastEvent: 'kms_exporter_last_event_timestamp_seconds',
  sourceErrors: 'kms_exporter_source_errors_total',
  awsRequests: 'kms_exporter_aws_requests_total',
  buildInfo: 'kms_exporter_build_info',
} as const;

/** Buckets for CloudTrail's delivery delay: seconds for live tail up to a day for replays. */
export const EVENT_DELAY_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400];

export interface Instruments {
  readonly changes: Counter;
  readonly failures: Counter;
  readonly pendingDeletion: ObservableGauge;
  readonly records: Counter;
  readonly invalidRecords: Counter;
  readonly eventDelay: Histogram;
  readonly lastEvent: Gauge;
  readonly sourceErrors: Counter;
  readonly awsRequests: Counter;
  readonly buildInfo: Gauge;
}

export function declareInstruments(meter: Meter): Instruments {
  return {
    changes: meter.createCounter(METRIC.changes, {
      description: 'Successful AWS KMS configuration changes seen in CloudTrail.',
    }),
    failures: meter.createCounter(METRIC.failures, {
      description: 'Failed attempts at AWS KMS configuration changes (CloudTrail records with an errorCode).',
    }),
    pendingDeletion: meter.createObservableGauge(METRIC.pendingDeletion, {
      description: 'When a KMS key scheduled for deletion will be deleted, as a Unix timestamp; removed when the deletion is cancelled or done.',
    }),
    records: meter.createCounter(METRIC.records, {
      description: 'CloudTrail records read, by source and result (matched, ignored, invalid, duplicate).',
    }),
    invalidRecords: meter.createCounter(METRIC.invalidRecords, {
      description: 'Records that could not be decoded, by source and reason.',
    }),
    eventDelay: meter.createHistogram(METRIC.eventDelay, {
      description: 'Time from a KMS change (CloudTrail eventTime) to the exporter receiving it.',
      advice: { explicitBucketBoundaries: EVENT_DELAY_BUCKETS },
    }),
    lastEvent: meter.createGauge(METRIC.lastEvent, {
      description: 'CloudTrail eventTime of the newest KMS change received, as a Unix timestamp.',
    }),
    sourceErrors: meter.createCounter(METRIC.sourceErrors, {
      description: 'Errors of a source (AWS API errors, network failures, bad requests), by kind.',
    }),
    awsRequests: meter.createCounter(METRIC.awsRequests, {
      description: 'AWS API calls made by the exporter, by operation and outcome.',
    }),
    buildInfo: meter.createGauge(METRIC.buildInfo, {
      description: 'Always 1; labels carry the exporter version and the Node.js version.',
    }),
  };
}
