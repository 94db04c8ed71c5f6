// PromQL building blocks of the dashboards: label matchers bound to the dashboard variables, and change counts that see a brand-new series.

import { METRIC as EXPORTED } from '../../src/record/instruments.ts';
import { PROCESS_METRIC } from '../../src/record/process-metrics.ts';

// The exporter's own declaration of its metric names: a rename there breaks the dashboards' build, not a panel.
export const METRIC = {
  ...EXPORTED,
  ...PROCESS_METRIC,
  eventDelayBucket: `${EXPORTED.eventDelay}_bucket`,
  eventDelaySum: `${EXPORTED.eventDelay}_sum`,
  eventDelayCount: `${EXPORTED.eventDelay}_count`,
  up: 'up',
} as const;

/** Matchers for the dashboard variables. Multi-value variables expand to a regex, hence `=~`. */
export const BY = {
  job: 'job=~"$job"',
  instance: 'instance=~"$instance"',
  source: 'source=~"$source"',
  account: 'aws_account_id=~"$aws_account_id"',
  region: 'aws_region=~"$aws_region"',
  key: 'key_id=~"$key_id"',
  principal: 'principal=~"$principal"',
} as const;

export function series(metric: string, ...matchers: readonly string[]): string {
  return `${metric}{${matchers.join(', ')}}`;
}

/** The KMS metrics that carry account and region, as one selector for variable queries. */
export const KMS_SERIES_NAMES = `__name__=~"${METRIC.changes}|${METRIC.failures}|${METRIC.findings}|${METRIC.pendingDeletion}|${METRIC.materialExpiry}"`;

/** Grafana's per-step interval: consecutive windows of exactly one step, so per-step counts add up. */
export const STEP = '$__interval';
/** The whole dashboard time range, for instant queries that total it. */
export const RANGE = '$__range';
/** Grafana's window for rate(): at least four scrape intervals, so a window always holds two samples. */
export const RATE_INTERVAL = '$__rate_interval';

/**
 * How much each change counter grew in the `window` before the evaluation time, counting
 * a series that appeared within the window at its whole value.
 *
 * Not increase(): it is 0 on the first scrape of a new series, and KMS changes are rare
 * enough that most changes create one (a new event, account, region or principal type;
 * with the opt-in labels, nearly every change), so increase() would hide most changes.
 * This is the rule of alerts/kms-change-exporter.rules.yml (`kms:config_changes:increase10m`)
 * with the dashboard's window:
 *   x - x offset window    when that is >= 0: the growth of an existing series;
 *   x                      when the series did not exist a window ago (new), or came
 *                          back lower after an exporter restart: everything since.
 * Over consecutive windows of one step ($__interval) the counts add up exactly; no
 * extrapolation, so a change is 1, not 1.3. A Prometheus-side gap longer than its 5-minute
 * lookback makes a series look new once, which the alert rule's 1h lookback avoids at a
 * cost a dashboard query should not pay.
 */
export function counted(selector: string, window: string): string {
  return `(${selector} - ${selector} offset ${window} >= 0 or ${selector})`;
}

export function rate(selector: string): string {
  return `rate(${selector}[${RATE_INTERVAL}])`;
}

/** A count that shows 0 rather than "No data" when nothing matches. */
export function orZero(expr: string): string {
  return `${expr} or vector(0)`;
}

/** Days from now until a key's deadline (a pending deletion, a material expiry), one per key even with several exporter replicas. */
export function daysUntilDeletion(selector: string): string {
  return `min by (aws_account_id, aws_region, key_id) (${selector} - time()) / 86400`;
}

/** The deadline itself, in milliseconds for Grafana's date units. */
export function deletionDateMs(selector: string): string {
  return `max by (aws_account_id, aws_region, key_id) (${selector}) * 1000`;
}

/**
 * Adds the `account_name` of kms_aws_account_info (--accounts) to every series of `expr`
 * whose account the file names, and keeps the others as they are. Every replica exports the
 * same info series, so it is taken once per account (max by), and the joined side never
 * carries instance or pod: `expr` must already be aggregated without them. The rules join
 * the same way (kms:aws_account_info:max).
 */
export function withAccountName(expr: string): string {
  const info = `max by (aws_account_id, account_name) (${series(METRIC.accountInfo, BY.job, BY.account)})`;
  return `(${expr}) * on (aws_account_id) group_left (account_name) ${info} or (${expr}) unless on (aws_account_id) ${info}`;
}
