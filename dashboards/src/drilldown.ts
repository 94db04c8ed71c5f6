// The drill-down dashboard: changes and failed attempts per key and per principal, from the exporter's opt-in key_id and principal labels.

import type { Dashboard } from './grafana-model.ts';
import { dashboard } from './dashboard.ts';
import { pendingDeletionTable } from './overview.ts';
import { sized, stat, table, text, thresholds, timeseries } from './panels.ts';
import { BY, KMS_SERIES_NAMES, METRIC, RANGE, STEP, counted, orZero, series } from './promql.ts';
import { datasourceVariable, labelVariable } from './variables.ts';

export const DRILLDOWN_UID = 'kms-change-drilldown';

const CHANGE_SERIES_NAMES = `__name__=~"${METRIC.changes}|${METRIC.failures}"`;

const changes = (...matchers: string[]): string => series(METRIC.changes, BY.job, BY.account, BY.region, ...matchers);
const failures = (...matchers: string[]): string => series(METRIC.failures, BY.job, BY.account, BY.region, ...matchers);
const pending = series(METRIC.pendingDeletion, BY.job, BY.account, BY.region, BY.key);

export const OPT_IN_LABELS_TEXT = `### Key and principal labels are opt-in

The change counters carry \`key_id\` and \`principal\` only when the exporter runs with
\`--label-key-id\` (\`KMS_EXPORTER_LABEL_KEY_ID=true\`) and \`--label-principal\`
(\`KMS_EXPORTER_LABEL_PRINCIPAL=true\`). The two numbers on the left count the values seen:
**0 means the label is off**, and then the panels below show one row per event with an empty
key or principal, and the Key and Principal filters list only keys pending deletion.
Every change's key ARN and principal ARN are always in the exporter's log events
(\`aws.kms.config_change\`).

Each label is capped at \`--label-value-limit\` distinct values (500 by default); later values
are counted under \`__overflow__\`, so totals stay exact. Series under \`__overflow__\` mean the
limit was reached: raise it, or find the key in the log events.`;

export function drilldownDashboard(): Dashboard {
  return dashboard({
    uid: DRILLDOWN_UID,
    title: 'KMS configuration changes / Keys and principals',
    description: 'KMS configuration changes and failed attempts per key and per principal (needs the exporter\'s opt-in key_id and principal labels); keys pending deletion.',
    tags: ['aws', 'kms', 'security'],
    from: 'now-7d',
    refresh: '1m',
    variables: [
      datasourceVariable,
      labelVariable('job', 'Job', 'The scrape job(s) of kms-change-exporter.', METRIC.buildInfo),
      labelVariable('aws_account_id', 'AWS account', 'The account the change was made in (CloudTrail recipientAccountId).', `{${KMS_SERIES_NAMES}, ${BY.job}}`),
      labelVariable('aws_region', 'AWS region', 'The region of the KMS API call.', `{${KMS_SERIES_NAMES}, ${BY.job}, ${BY.account}}`),
      labelVariable(
        'key_id',
        'Key',
        'Keys seen in changes (with --label-key-id) or pending deletion. "All" also covers changes without the label.',
        `{${KMS_SERIES_NAMES}, ${BY.job}, ${BY.account}, ${BY.region}}`,
      ),
      labelVariable(
        'principal',
        'Principal',
        'IAM users, roles (not each session) and services seen in changes (with --label-principal). "All" also covers changes without the label.',
        `{${CHANGE_SERIES_NAMES}, ${BY.job}, ${BY.account}, ${BY.region}}`,
      ),
    ],
    rows: [
      {
        title: 'Opt-in labels',
        panels: [
          sized(
            stat('Keys labelled', {
              description: 'Distinct key_id values on the change counters. 0: the exporter runs without --label-key-id.',
              queries: [{ expr: orZero(`count(count by (key_id) ({${CHANGE_SERIES_NAMES}, ${BY.job}, key_id!=""}))`) }],
              unit: 'none',
              decimals: 0,
              mappings: [{ type: 'value', options: { '0': { text: 'off', color: 'orange', index: 0 } } }],
              thresholds: thresholds('green'),
            }),
            4,
            6,
          ),
          sized(
            stat('Principals labelled', {
              description: 'Distinct principal values on the change counters. 0: the exporter runs without --label-principal.',
              queries: [{ expr: orZero(`count(count by (principal) ({${CHANGE_SERIES_NAMES}, ${BY.job}, principal!=""}))`) }],
              unit: 'none',
              decimals: 0,
              mappings: [{ type: 'value', options: { '0': { text: 'off', color: 'orange', index: 0 } } }],
              thresholds: thresholds('green'),
            }),
            4,
            6,
          ),
          sized(
            stat('Series over the label limit', {
              description: 'Change series counted under __overflow__ because --label-value-limit was reached.',
              queries: [
                {
                  expr: orZero(`count({${CHANGE_SERIES_NAMES}, ${BY.job}, key_id="__overflow__"} or {${CHANGE_SERIES_NAMES}, ${BY.job}, principal="__overflow__"})`),
                },
              ],
              unit: 'none',
              decimals: 0,
              thresholds: thresholds('green', [[1, 'orange']]),
            }),
            4,
            6,
          ),
          sized(text('About these labels', 'How to switch the key_id and principal labels on, and what the panels show while they are off.', OPT_IN_LABELS_TEXT), 12, 6),
        ],
      },
      {
        title: 'Keys',
        panels: [
          sized(
            table('Changes by key', {
              description: 'Successful changes in the time range per key and event, for the selected keys.',
              queries: [{ expr: `sum by (aws_account_id, aws_region, key_id, event_name, risk, principal_type) (${counted(changes(BY.key), RANGE)}) > 0` }],
              columns: ['aws_account_id', 'aws_region', 'key_id', 'event_name', 'risk', 'principal_type'],
              values: [{ header: 'Changes', unit: 'none', decimals: 0 }],
              sortBy: { header: 'Changes', desc: true },
              noValue: 'No changes to the selected keys',
              footerSum: true,
            }),
            24,
            9,
          ),
          sized(
            timeseries('Changes to the selected keys', {
              description: 'Successful changes per interval by key and event.',
              queries: [{ expr: `sum by (key_id, event_name) (${counted(changes(BY.key), STEP)})`, legend: '{{key_id}} {{event_name}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              legendCalcs: ['sum'],
            }),
            12,
            9,
          ),
          sized(
            timeseries('Failed attempts on the selected keys', {
              description: 'Failed calls per interval by key and error code.',
              queries: [{ expr: `sum by (key_id, error_code) (${counted(failures(BY.key), STEP)})`, legend: '{{key_id}} {{error_code}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              legendCalcs: ['sum'],
            }),
            12,
            9,
          ),
          sized(
            pendingDeletionTable(
              'Selected keys pending deletion',
              'The deletion date comes from ScheduleKeyDeletion; the key_id label is always on for this metric.',
              pending,
              'No selected key is pending deletion',
            ),
            24,
            6,
          ),
        ],
      },
      {
        title: 'Principals',
        panels: [
          sized(
            table('Changes by principal', {
              description: 'Successful changes in the time range per principal (an assumed role is its role, not each session) and event.',
              queries: [{ expr: `sum by (aws_account_id, principal_type, principal, event_name, risk) (${counted(changes(BY.principal), RANGE)}) > 0` }],
              columns: ['aws_account_id', 'principal_type', 'principal', 'event_name', 'risk'],
              values: [{ header: 'Changes', unit: 'none', decimals: 0 }],
              sortBy: { header: 'Changes', desc: true },
              noValue: 'No changes by the selected principals',
              footerSum: true,
            }),
            12,
            9,
          ),
          sized(
            table('Failed attempts by principal', {
              description: 'Failed calls in the time range per principal, event and error code: who is probing the keys.',
              queries: [{ expr: `sum by (aws_account_id, principal_type, principal, event_name, error_code) (${counted(failures(BY.principal), RANGE)}) > 0` }],
              columns: ['aws_account_id', 'principal_type', 'principal', 'event_name', 'error_code'],
              values: [{ header: 'Attempts', unit: 'none', decimals: 0 }],
              sortBy: { header: 'Attempts', desc: true },
              noValue: 'No failed attempts by the selected principals',
              footerSum: true,
            }),
            12,
            9,
          ),
          sized(
            timeseries('Changes by the selected principals', {
              description: 'Successful changes per interval by principal and event.',
              queries: [{ expr: `sum by (principal, event_name) (${counted(changes(BY.principal), STEP)})`, legend: '{{principal}} {{event_name}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              legendCalcs: ['sum'],
            }),
            24,
            9,
          ),
        ],
      },
    ],
  });
}
