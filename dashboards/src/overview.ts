// The overview dashboard: findings first (what the changes did), then changes expected and unexpected, over time by event, risk, account and region; failed attempts; who; keys pending deletion and imported key material expiring.

import type { Dashboard, Thresholds } from './grafana-model.ts';
import { dashboard } from './dashboard.ts';
import { barGauge, colorOverrides, sized, stat, table, thresholds, timeseries } from './panels.ts';
import { BY, KMS_SERIES_NAMES, METRIC, RANGE, STEP, counted, daysUntilDeletion, deletionDateMs, orZero, series, withAccountName } from './promql.ts';
import { datasourceVariable, labelVariable } from './variables.ts';

export const OVERVIEW_UID = 'kms-change-overview';

const changes = (...matchers: string[]): string => series(METRIC.changes, BY.job, BY.account, BY.region, ...matchers);
const failures = (...matchers: string[]): string => series(METRIC.failures, BY.job, BY.account, BY.region, ...matchers);
const findings = (...matchers: string[]): string => series(METRIC.findings, BY.job, BY.account, BY.region, ...matchers);
const pending = series(METRIC.pendingDeletion, BY.job, BY.account, BY.region);
const materialExpiry = series(METRIC.materialExpiry, BY.job, BY.account, BY.region);

/** The catalog's risk levels in the alert severities' colours (high pages, medium tickets). */
const RISK_COLORS = { high: 'red', medium: 'orange', low: 'blue' } as const;
/** A finding on a successful change pages (critical); on a failed attempt it tickets (KmsDangerousChangeAttemptFailed, warning). */
const OUTCOME_COLORS = { success: 'red', failure: 'orange' } as const;
/** Unexpected changes are the ones the risk alerts page for; expected ones only ticket (KmsExpectedChange). */
const EXPECTED_COLORS = { unexpected: 'orange', expected: 'green' } as const;

/** KmsKeyDeletionImminent fires below 3 days (a TUNE setting of the rules). */
export const DAYS_LEFT_THRESHOLDS = thresholds('red', [
  [3, 'orange'],
  [7, 'green'],
]);

/** KmsKeyMaterialExpiring tickets below 7 days (a TUNE setting of the rules); a month ahead is worth a look. */
export const MATERIAL_DAYS_LEFT_THRESHOLDS = thresholds('red', [
  [7, 'orange'],
  [30, 'green'],
]);

/**
 * A table of per-key deadlines, soonest first, with days left and the date, and the
 * account's name where --accounts gives one: keys pending deletion, imported material expiring.
 */
function keyDeadlineTable(
  title: string,
  options: { readonly description: string; readonly selector: string; readonly noValue: string; readonly dateHeader: string; readonly daysLeft: Thresholds },
): ReturnType<typeof table> {
  return table(title, {
    description: options.description,
    queries: [{ expr: withAccountName(daysUntilDeletion(options.selector)) }, { expr: withAccountName(deletionDateMs(options.selector)) }],
    columns: ['aws_account_id', 'account_name', 'aws_region', 'key_id'],
    values: [
      { header: 'Days left', unit: 'none', decimals: 1, thresholds: options.daysLeft },
      { header: options.dateHeader, unit: 'dateTimeAsIso' },
    ],
    sortBy: { header: 'Days left', desc: false },
    noValue: options.noValue,
  });
}

/** Keys pending deletion, soonest first, with days left and the date: on the overview and the drill-down. */
export function pendingDeletionTable(title: string, description: string, pending: string, noValue: string): ReturnType<typeof table> {
  return keyDeadlineTable(title, { description, selector: pending, noValue, dateHeader: 'Deletion date', daysLeft: DAYS_LEFT_THRESHOLDS });
}

/**
 * The labels of a findings series that say what it is, with the opt-in key_id and principal
 * when they are on. Summed by these, not without (instance, pod): replicas count once either
 * way, and the target labels a ServiceMonitor adds (namespace, service, endpoint) stay out of the table.
 */
const FINDING_LABELS = ['finding', 'event_name', 'aws_account_id', 'aws_region', 'principal_type', 'expected', 'outcome', 'key_id', 'principal'] as const;

const CHANGE_COUNT_NOTE =
  'Counted per series so that a change creating a new series counts (increase() would show 0 for it): see dashboards/README.md.';

export function overviewDashboard(): Dashboard {
  return dashboard({
    uid: OVERVIEW_UID,
    title: 'KMS configuration changes / Overview',
    description:
      'Every AWS KMS configuration change kms-change-exporter saw in CloudTrail (rule KMS-007): findings first (what the changes did), then changes unexpected and expected, over time by event, risk, account and region; failed attempts; principal types; keys pending deletion and imported key material expiring.',
    tags: ['aws', 'kms', 'security'],
    from: 'now-24h',
    refresh: '1m',
    variables: [
      datasourceVariable,
      labelVariable('job', 'Job', 'The scrape job(s) of kms-change-exporter.', METRIC.buildInfo),
      labelVariable('aws_account_id', 'AWS account', 'The account the change was made in (CloudTrail recipientAccountId).', `{${KMS_SERIES_NAMES}, ${BY.job}}`),
      labelVariable('aws_region', 'AWS region', 'The region of the KMS API call.', `{${KMS_SERIES_NAMES}, ${BY.job}, ${BY.account}}`),
    ],
    rows: [
      {
        title: 'Findings',
        panels: [
          sized(
            stat('Findings on successful changes', {
              description:
                'Findings (a key policy opened, a lock-out, a grant to another account or with CreateGrant, a short deletion window, external material or key store) of successful changes in the time range: each pages, expected or not.',
              queries: [{ expr: orZero(`sum(${counted(findings('outcome="success"'), RANGE)})`) }],
              unit: 'none',
              decimals: 0,
              thresholds: thresholds('green', [[1, 'red']]),
            }),
            4,
            9,
          ),
          sized(
            stat('Findings on failed attempts', {
              description: 'Findings of attempts AWS refused in the time range: someone tried to open a key, and KmsDangerousChangeAttemptFailed tickets it.',
              queries: [{ expr: orZero(`sum(${counted(findings('outcome="failure"'), RANGE)})`) }],
              unit: 'none',
              decimals: 0,
              thresholds: thresholds('green', [[1, 'orange']]),
            }),
            4,
            9,
          ),
          sized(
            barGauge('Findings by finding', {
              description: 'Findings in the time range by finding, successful changes and failed attempts together. The README lists every finding with the rule that raises it.',
              queries: [{ expr: `sort_desc(sum by (finding) (${counted(findings(), RANGE)}) > 0)`, legend: '{{finding}}' }],
              unit: 'none',
              noValue: 'No findings',
            }),
            8,
            9,
          ),
          sized(
            timeseries('Findings by outcome', {
              description: 'Findings per interval, of successful changes (they page) and of failed attempts (they ticket).',
              queries: [{ expr: `sum by (outcome) (${counted(findings(), STEP)})`, legend: '{{outcome}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              overrides: colorOverrides(OUTCOME_COLORS),
              legendCalcs: ['sum'],
            }),
            8,
            9,
          ),
          sized(
            table('Recent findings', {
              description:
                'Every finding in the time range: what, by which event, where (with the account name of --accounts), by what type of principal, whether an expectation matched, and whether AWS refused it. The evidence is in the log event aws.kms.change.',
              queries: [{ expr: withAccountName(`sum by (${FINDING_LABELS.join(', ')}) (${counted(findings(), RANGE)}) > 0`) }],
              columns: ['finding', 'event_name', 'aws_account_id', 'account_name', 'aws_region', 'principal_type', 'expected', 'outcome', 'key_id', 'principal'],
              values: [{ header: 'Findings', unit: 'none', decimals: 0 }],
              sortBy: { header: 'Findings', desc: true },
              noValue: 'No findings',
              footerSum: true,
            }),
            24,
            8,
          ),
        ],
      },
      {
        title: 'Unexpected and expected changes',
        panels: [
          sized(
            stat('Unexpected changes', {
              description: 'Successful changes no rule of --expectations matched, in the time range: the ones the risk alerts page or ticket for.',
              queries: [{ expr: orZero(`sum(${counted(changes('expected="false"'), RANGE)})`) }],
              unit: 'none',
              decimals: 0,
            }),
            4,
            9,
          ),
          sized(
            stat('Expected changes', {
              description: "Successful changes an --expectations rule matched (a team's automation), in the time range: KmsExpectedChange tickets them, and only a finding pages.",
              queries: [{ expr: orZero(`sum(${counted(changes('expected="true"'), RANGE)})`) }],
              unit: 'none',
              decimals: 0,
            }),
            4,
            9,
          ),
          sized(
            timeseries('Changes, unexpected and expected', {
              description: `Successful changes per interval, those no expectation matched first. ${CHANGE_COUNT_NOTE}`,
              queries: [
                { expr: `sum(${counted(changes('expected="false"'), STEP)})`, legend: 'unexpected' },
                { expr: `sum(${counted(changes('expected="true"'), STEP)})`, legend: 'expected' },
              ],
              unit: 'none',
              bars: true,
              decimals: 0,
              overrides: colorOverrides(EXPECTED_COLORS),
              legendCalcs: ['sum'],
            }),
            16,
            9,
          ),
        ],
      },
      {
        title: 'Summary',
        panels: [
          sized(stat('Changes', { description: `Successful KMS configuration changes in the time range. ${CHANGE_COUNT_NOTE}`, queries: [{ expr: orZero(`sum(${counted(changes(), RANGE)})`) }], unit: 'none', decimals: 0 }), 4, 4),
          sized(
            stat('High-risk changes', {
              description: 'ScheduleKeyDeletion, DisableKey, PutKeyPolicy, DeleteImportedKeyMaterial, custom key store delete/disconnect, DeleteKey, DeleteExpiredKeyMaterial: the changes KmsHighRiskChange pages for.',
              queries: [{ expr: orZero(`sum(${counted(changes('risk="high"'), RANGE)})`) }],
              unit: 'none',
              decimals: 0,
              thresholds: thresholds('green', [[1, 'red']]),
            }),
            4,
            4,
          ),
          sized(
            stat('Failed attempts', {
              description: 'KMS configuration calls that failed: the CloudTrail record has an errorCode, such as AccessDenied. Someone tried.',
              queries: [{ expr: orZero(`sum(${counted(failures(), RANGE)})`) }],
              unit: 'none',
              decimals: 0,
              thresholds: thresholds('green', [[1, 'orange']]),
            }),
            4,
            4,
          ),
          sized(
            stat('Accounts with changes', {
              description: 'AWS accounts in which at least one KMS configuration change succeeded in the time range.',
              queries: [{ expr: orZero(`count(sum by (aws_account_id) (${counted(changes(), RANGE)}) > 0)`) }],
              unit: 'none',
              decimals: 0,
            }),
            4,
            4,
          ),
          sized(
            stat('Keys pending deletion', {
              description: 'Keys scheduled for deletion (ScheduleKeyDeletion) and neither cancelled nor deleted yet, now.',
              queries: [{ expr: orZero(`count(max by (aws_account_id, aws_region, key_id) (${pending}))`) }],
              unit: 'none',
              decimals: 0,
              thresholds: thresholds('green', [[1, 'orange']]),
            }),
            4,
            4,
          ),
          sized(
            stat('Soonest deletion', {
              description: 'Days until the first pending key deletion. KmsKeyDeletionImminent pages below 3 days.',
              queries: [{ expr: `min(${daysUntilDeletion(pending)})` }],
              unit: 'd',
              decimals: 1,
              noValue: 'none scheduled',
              thresholds: DAYS_LEFT_THRESHOLDS,
            }),
            4,
            4,
          ),
        ],
      },
      {
        title: 'Changes over time',
        panels: [
          sized(
            timeseries('Changes by event', {
              description: `Successful changes per interval, stacked by CloudTrail event name. ${CHANGE_COUNT_NOTE}`,
              queries: [{ expr: `sum by (event_name) (${counted(changes(), STEP)})`, legend: '{{event_name}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              legendCalcs: ['sum'],
            }),
            12,
            9,
          ),
          sized(
            timeseries('Changes by risk', {
              description: 'Successful changes per interval by the catalog risk level: high pages (critical), medium tickets (warning), low informs (info).',
              queries: [{ expr: `sum by (risk) (${counted(changes(), STEP)})`, legend: '{{risk}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              overrides: colorOverrides(RISK_COLORS),
              legendCalcs: ['sum'],
            }),
            12,
            9,
          ),
          sized(
            timeseries('Changes by account', {
              description: 'Successful changes per interval by AWS account (recipientAccountId).',
              queries: [{ expr: `sum by (aws_account_id) (${counted(changes(), STEP)})`, legend: '{{aws_account_id}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              legendCalcs: ['sum'],
            }),
            12,
            9,
          ),
          sized(
            timeseries('Changes by region', {
              description: 'Successful changes per interval by AWS region.',
              queries: [{ expr: `sum by (aws_region) (${counted(changes(), STEP)})`, legend: '{{aws_region}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              legendCalcs: ['sum'],
            }),
            12,
            9,
          ),
        ],
      },
      {
        title: 'Failed attempts',
        panels: [
          sized(
            timeseries('Failed attempts by error code', {
              description: 'Failed KMS configuration calls per interval by error code and event. A burst from one principal type raises KmsChangeFailureBurst.',
              queries: [{ expr: `sum by (error_code, event_name) (${counted(failures(), STEP)})`, legend: '{{error_code}} {{event_name}}' }],
              unit: 'none',
              bars: true,
              decimals: 0,
              legendCalcs: ['sum'],
            }),
            12,
            9,
          ),
          sized(
            table('Failed attempts in the time range', {
              description: 'Who tried what, where, and what AWS answered.',
              queries: [{ expr: `sum by (aws_account_id, aws_region, principal_type, event_name, error_code) (${counted(failures(), RANGE)}) > 0` }],
              columns: ['aws_account_id', 'aws_region', 'principal_type', 'event_name', 'error_code'],
              values: [{ header: 'Attempts', unit: 'none', decimals: 0 }],
              sortBy: { header: 'Attempts', desc: true },
              noValue: 'No failed attempts',
              footerSum: true,
            }),
            12,
            9,
          ),
        ],
      },
      {
        title: 'Who and what',
        panels: [
          sized(
            barGauge('Changes by principal type', {
              description: 'The top 10 CloudTrail identity types (AssumedRole, IAMUser, Root, AWSService...) by successful changes in the time range.',
              queries: [{ expr: `topk(10, sum by (principal_type) (${counted(changes(), RANGE)}) > 0)`, legend: '{{principal_type}}' }],
              unit: 'none',
              noValue: 'No changes',
            }),
            6,
            9,
          ),
          sized(
            barGauge('Failed attempts by principal type', {
              description: 'The top 10 identity types by failed attempts in the time range.',
              queries: [{ expr: `topk(10, sum by (principal_type) (${counted(failures(), RANGE)}) > 0)`, legend: '{{principal_type}}' }],
              unit: 'none',
              noValue: 'No failed attempts',
            }),
            6,
            9,
          ),
          sized(
            table('Changes in the time range', {
              description: 'Every kind of successful change in the time range, with where and by what type of principal. Key and principal detail: the "Keys and principals" dashboard.',
              queries: [{ expr: `sum by (aws_account_id, aws_region, event_name, risk, principal_type, expected) (${counted(changes(), RANGE)}) > 0` }],
              columns: ['aws_account_id', 'aws_region', 'event_name', 'risk', 'principal_type', 'expected'],
              values: [{ header: 'Changes', unit: 'none', decimals: 0 }],
              sortBy: { header: 'Changes', desc: true },
              noValue: 'No changes',
              footerSum: true,
            }),
            12,
            9,
          ),
        ],
      },
      {
        title: 'Key deadlines',
        panels: [
          sized(
            pendingDeletionTable(
              'Keys pending deletion',
              'Keys scheduled for deletion and not cancelled, soonest first. A deletion can be cancelled (CancelKeyDeletion) until its date; afterwards the key and everything it encrypted are gone.',
              pending,
              'No key is pending deletion',
            ),
            12,
            8,
          ),
          sized(
            keyDeadlineTable('Imported key material expiring', {
              description:
                'Keys whose imported material expires (ImportKeyMaterial with KEY_MATERIAL_EXPIRES), soonest first; negative days: expired. Without it the key can neither encrypt nor decrypt: import it again before the date. KmsKeyMaterialExpiring tickets below 7 days.',
              selector: materialExpiry,
              noValue: 'No imported key material expires',
              dateHeader: 'Expiry date',
              daysLeft: MATERIAL_DAYS_LEFT_THRESHOLDS,
            }),
            12,
            8,
          ),
        ],
      },
    ],
  });
}
