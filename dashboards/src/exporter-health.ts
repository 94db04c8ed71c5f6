// The exporter health dashboard: is the pipeline seeing CloudTrail, how late, what it drops, how it uses the AWS API, what runs.

import type { Dashboard } from './grafana-model.ts';
import { dashboard } from './dashboard.ts';
import { sized, stat, table, thresholds, timeseries } from './panels.ts';
import { BY, METRIC, RANGE, STEP, counted, orZero, rate, series } from './promql.ts';
import { datasourceVariable, labelVariable } from './variables.ts';

export const EXPORTER_HEALTH_UID = 'kms-change-exporter-health';

// The self-metrics carry source, not account or region (one source reads every account of
// a trail), so this dashboard filters by job, instance and source instead.
const self = (metric: string): string => series(metric, BY.job, BY.instance, BY.source);
const perProcess = (metric: string): string => series(metric, BY.job, BY.instance);

// Thresholds of the health alerts (TUNE settings in alerts/kms-change-exporter.rules.yml).
const SILENT_AFTER_SECONDS = 3600;
const DELAY_ALERT_SECONDS = 900;
const HEARTBEAT_MISSING_SECONDS = 1200;

const lastEventAge = `time() - max by (source) (${self(METRIC.lastEvent)} > 0)`;

// The delay is observed only when a change arrives, and changes are rare: like the change
// counters, the histogram's series appear with the first change after an exporter start,
// which rate() cannot see. So its buckets are counted per step the way changes are.
function delayQuantile(quantile: number): string {
  return `histogram_quantile(${quantile}, sum by (source, le) (${counted(self(METRIC.eventDelayBucket), STEP)}))`;
}

export function exporterHealthDashboard(): Dashboard {
  return dashboard({
    uid: EXPORTER_HEALTH_UID,
    title: 'KMS configuration changes / Exporter health',
    description: 'kms-change-exporter itself: scrape status and build, records read by result, invalid records, CloudTrail delivery delay, newest change, source errors, AWS API calls, and the process: CPU, memory, event-loop lag, heap.',
    tags: ['aws', 'kms', 'exporter'],
    from: 'now-6h',
    refresh: '30s',
    variables: [
      datasourceVariable,
      labelVariable('job', 'Job', 'The scrape job(s) of kms-change-exporter.', METRIC.buildInfo),
      labelVariable('instance', 'Instance', 'Exporter processes (replicas) of the selected jobs.', series(METRIC.buildInfo, BY.job)),
      labelVariable('source', 'Source', 'poll, live-tail, firehose or replay.', series(METRIC.records, BY.job, BY.instance)),
    ],
    rows: [
      {
        title: 'Status',
        panels: [
          sized(
            stat('Scrape', {
              description: 'Whether Prometheus can scrape each exporter process. KmsExporterDown pages after 5 minutes down; KmsExporterAbsent when the job has no target at all.',
              queries: [{ expr: perProcess(METRIC.up), legend: '{{instance}}' }],
              unit: 'none',
              mappings: [{ type: 'value', options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } } }],
              thresholds: thresholds('red', [[1, 'green']]),
              colorMode: 'background',
            }),
            6,
            5,
          ),
          sized(
            stat('Newest change received', {
              description: `How long ago the newest KMS change happened (its CloudTrail eventTime), per source. KmsSourceSilent warns past ${SILENT_AFTER_SECONDS / 3600} hour for the live sources; replayed files are old by nature.`,
              queries: [{ expr: lastEventAge, legend: '{{source}}' }],
              unit: 's',
              noValue: 'no change yet',
              thresholds: thresholds('green', [[SILENT_AFTER_SECONDS, 'orange']]),
            }),
            6,
            5,
          ),
          sized(
            stat('Records read', {
              description: 'CloudTrail records per second, all sources and results.',
              queries: [{ expr: orZero(`sum(${rate(self(METRIC.records))})`) }],
              unit: 'cps',
            }),
            4,
            5,
          ),
          sized(
            table('Build', {
              description: 'Exporter and Node.js versions of each process.',
              queries: [{ expr: `max by (job, instance, version, node_version) (${perProcess(METRIC.buildInfo)})` }],
              columns: ['job', 'instance', 'version', 'node_version'],
              values: [],
              sortBy: { header: 'instance', desc: false },
            }),
            8,
            5,
          ),
        ],
      },
      {
        title: 'The pipeline itself',
        panels: [
          sized(
            stat('Blinding changes', {
              description: 'Successful changes in the time range that stop or narrow the delivery of KMS events (trail stopped or deleted, selectors excluding KMS, subscription filter or log group deleted, delivery disabled). KmsPipelineBlinded pages on each.',
              queries: [{ expr: orZero(`sum(${counted(series(METRIC.pipelineChanges, BY.job, 'blinding="blinds"'), RANGE)})`) }],
              unit: 'none',
              thresholds: thresholds('green', [[1, 'red']]),
              colorMode: 'background',
            }),
            6,
            8,
          ),
          sized(
            timeseries('Pipeline changes', {
              description: 'Changes of the trail, its event selectors, the CloudWatch Logs group and subscription, the Firehose stream and the EventBridge rule, per step, by event and whether they blind or only weaken.',
              queries: [{ expr: `sum by (event_name, blinding) (${counted(series(METRIC.pipelineChanges, BY.job), STEP)})`, legend: '{{event_name}} ({{blinding}})' }],
              unit: 'none',
              legendCalcs: ['sum'],
            }),
            9,
            8,
          ),
          sized(
            timeseries('Failed pipeline changes', {
              description: 'Refused attempts to change the pipeline, by event and error code; a failed blinding attempt raises KmsPipelineBlindingAttemptFailed.',
              queries: [{ expr: `sum by (event_name, error_code) (${counted(series(METRIC.pipelineFailures, BY.job), STEP)})`, legend: '{{event_name}} {{error_code}}' }],
              unit: 'none',
              legendCalcs: ['sum'],
            }),
            9,
            8,
          ),
          sized(
            timeseries('Heartbeat lag', {
              description: `With --heartbeat-key: how long the newest heartbeat that came back (its TagResource record, through the source) lags the newest sent, per canary key, newest over replicas. It grows by one --heartbeat-interval between heartbeats and falls back when one arrives; KmsPipelineHeartbeatMissing pages past ${HEARTBEAT_MISSING_SECONDS / 60} minutes.`,
              queries: [
                {
                  expr: `max by (aws_account_id, aws_region, key_id) (${series(METRIC.heartbeatSent, BY.job)}) - max by (aws_account_id, aws_region, key_id) (${series(METRIC.heartbeatSeen, BY.job)})`,
                  legend: '{{key_id}} ({{aws_account_id}} {{aws_region}})',
                },
              ],
              unit: 's',
              thresholdLine: [HEARTBEAT_MISSING_SECONDS, 'red'],
              legendCalcs: ['lastNotNull', 'max'],
            }),
            24,
            8,
          ),
        ],
      },
      {
        title: 'Records',
        panels: [
          sized(
            timeseries('Records by result', {
              description: 'matched: KMS changes; ignored: other CloudTrail events; duplicate: an eventID seen before (sources re-read and deliver at least once); invalid: could not be decoded.',
              queries: [{ expr: `sum by (source, result) (${rate(self(METRIC.records))})`, legend: '{{source}} {{result}}' }],
              unit: 'cps',
              legendCalcs: ['mean', 'max'],
            }),
            12,
            8,
          ),
          sized(
            timeseries('Invalid records by reason', {
              description: 'Records that could not be decoded: malformed JSON, not CloudTrail, too large, truncated, bad gzip or base64, a bad envelope.',
              queries: [{ expr: `sum by (source, reason) (${rate(self(METRIC.invalidRecords))})`, legend: '{{source}} {{reason}}' }],
              unit: 'cps',
              legendCalcs: ['max'],
            }),
            12,
            8,
          ),
        ],
      },
      {
        title: 'Delay',
        panels: [
          sized(
            timeseries('Delivery delay (receipt minus eventTime)', {
              description: `Quantiles and mean of how late the changes of each interval reached the exporter (gaps: no change in that interval). CloudTrail takes about 5 minutes to CloudWatch Logs. KmsEventDelayHigh warns when p90 stays above ${DELAY_ALERT_SECONDS / 60} minutes (replays excepted).`,
              queries: [
                { expr: delayQuantile(0.5), legend: 'p50 {{source}}' },
                { expr: delayQuantile(0.9), legend: 'p90 {{source}}' },
                { expr: delayQuantile(0.99), legend: 'p99 {{source}}' },
                {
                  expr: `sum by (source) (${counted(self(METRIC.eventDelaySum), STEP)}) / sum by (source) (${counted(self(METRIC.eventDelayCount), STEP)})`,
                  legend: 'mean {{source}}',
                },
              ],
              unit: 's',
              thresholdLine: [DELAY_ALERT_SECONDS, 'orange'],
              legendCalcs: ['mean', 'max'],
            }),
            12,
            8,
          ),
          sized(
            timeseries('Age of the newest change', {
              description: `Time since the eventTime of the newest change, per source; it grows while no change arrives. KmsSourceSilent warns past ${SILENT_AFTER_SECONDS / 3600} hour.`,
              queries: [{ expr: lastEventAge, legend: '{{source}}' }],
              unit: 's',
              thresholdLine: [SILENT_AFTER_SECONDS, 'orange'],
              legendCalcs: ['lastNotNull'],
            }),
            12,
            8,
          ),
        ],
      },
      {
        title: 'Sources and the AWS API',
        panels: [
          sized(
            timeseries('Source errors', {
              description: 'Errors per source and kind (throttled, server_error, access_denied, network...). Retried ones included; KmsSourceErrors warns when a kind keeps coming for 15 minutes.',
              queries: [{ expr: `sum by (source, error) (${rate(self(METRIC.sourceErrors))})`, legend: '{{source}} {{error}}' }],
              unit: 'cps',
              legendCalcs: ['max'],
            }),
            12,
            8,
          ),
          sized(
            timeseries('AWS API calls', {
              description: 'Every AWS API attempt (retries included) by operation and outcome. FilterLogEvents shares about 5 calls per second per account and region with console searches.',
              queries: [{ expr: `sum by (operation, outcome) (${rate(perProcess(METRIC.awsRequests))})`, legend: '{{operation}} {{outcome}}' }],
              unit: 'reqps',
              legendCalcs: ['mean', 'max'],
            }),
            12,
            8,
          ),
        ],
      },
      {
        title: 'Process',
        panels: [
          sized(
            timeseries('CPU', {
              description: 'CPU time per second of each exporter process (user and system; 100% is one core). Replay and a large Firehose batch use more; a steady climb with a steady input is worth a look.',
              queries: [{ expr: `sum by (instance) (${rate(perProcess(METRIC.cpu))})`, legend: '{{instance}}' }],
              unit: 'percentunit',
              legendCalcs: ['mean', 'max'],
            }),
            6,
            8,
          ),
          sized(
            timeseries('Resident memory', {
              description: 'Resident set size of each process. Every state table is bounded (see kms_exporter_state_entries and _limit), so it levels off; a container limit below the peak restarts the pod.',
              queries: [{ expr: `max by (instance) (${perProcess(METRIC.residentMemory)})`, legend: '{{instance}}' }],
              unit: 'bytes',
              legendCalcs: ['lastNotNull', 'max'],
            }),
            6,
            8,
          ),
          sized(
            timeseries('Event-loop lag', {
              description: 'How late the Node.js event loop runs its timers (p50 and p99 since the process started, prom-client\'s monitor). Sustained lag delays scrapes and Firehose answers alike.',
              queries: [
                { expr: `max by (instance) (${perProcess(METRIC.eventLoopLagP50)})`, legend: 'p50 {{instance}}' },
                { expr: `max by (instance) (${perProcess(METRIC.eventLoopLagP99)})`, legend: 'p99 {{instance}}' },
              ],
              unit: 's',
              legendCalcs: ['lastNotNull', 'max'],
            }),
            6,
            8,
          ),
          sized(
            timeseries('Heap', {
              description: 'V8 heap used and allocated, per process.',
              queries: [
                { expr: `max by (instance) (${perProcess(METRIC.heapUsed)})`, legend: 'used {{instance}}' },
                { expr: `max by (instance) (${perProcess(METRIC.heapTotal)})`, legend: 'total {{instance}}' },
              ],
              unit: 'bytes',
              legendCalcs: ['lastNotNull', 'max'],
            }),
            6,
            8,
          ),
        ],
      },
    ],
  });
}
