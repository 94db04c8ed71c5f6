// The end-to-end alerting stack shared by test/e2e/alerting*.test.ts: stand-ins for every shipped receiver, Alertmanager with the shipped routing, Prometheus with a rule file, and one exporter it scrapes.

import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { StandIns, alertmanagerTestVariant, findAlert } from './alertmanager-stand-ins.ts';
import type { Notification, WebhookMessage } from './alertmanager-stand-ins.ts';
import { ROOT, startAlertmanager, startExporter, startPrometheus, waitUntil } from './prometheus-stack.ts';
import type { Exporter, ExporterOptions, Prometheus } from './prometheus-stack.ts';

export const RULES = join(ROOT, 'alerts/kms-change-exporter.rules.yml');
export const SHIPPED_ALERTMANAGER = join(ROOT, 'alerts/alertmanager.yml');

/** The bound on "a change reaches the channel": scrape + rule evaluation + group_wait, with room for a slow CI machine. */
export const NOTIFY_WITHIN_MS = 60_000;
/** Long enough for every route's group to flush (group_wait 1s, group_interval 2s): what has not arrived by then was not routed there. */
export const QUIET_MS = 5_000;

export const shippedAlertmanager = readFileSync(SHIPPED_ALERTMANAGER, 'utf8');
export const RECEIVERS: readonly string[] = (parse(shippedAlertmanager) as { receivers: { name: string }[] }).receivers.map((receiver) => receiver.name);

export const CRITICAL_STAND_INS = ['pagerduty-security', 'sms'] as const;
export const TICKET_STAND_INS = ['servicenow', 'zendesk'] as const;

export interface Stack {
  readonly standIns: StandIns;
  readonly prometheus: Prometheus;
  readonly exporter: Exporter;
}

/** Stand-ins, Alertmanager with the test variant, Prometheus with `rulesFile`, and one exporter (started with `exporterOptions`) it has scraped. */
export async function startStack(t: Test, rulesFile: string, exporterOptions: ExporterOptions = {}): Promise<Stack> {
  const started = Date.now();
  const exporterStarted = startExporter(t, exporterOptions);
  const standIns = await StandIns.start(t, RECEIVERS);
  const { config } = alertmanagerTestVariant(shippedAlertmanager, { url: (target) => standIns.url(target), shippedDir: join(ROOT, 'alerts') });
  const alertmanager = await startAlertmanager(t, `${JSON.stringify(config, null, 2)}\n`);
  const exporter = await exporterStarted;
  const prometheus = await startPrometheus(t, { targets: [exporter.target], ruleFiles: [rulesFile], alertmanager: alertmanager.address });
  await prometheus.waitForScrape([exporter.target]);
  await waitUntil('Prometheus to load the rules and discover Alertmanager', async () => {
    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: unknown[] } };
    const managers = (await (await fetch(`${prometheus.url}/api/v1/alertmanagers`)).json()) as { data: { activeAlertmanagers: unknown[] } };
    return rules.data.groups.length > 0 && managers.data.activeAlertmanagers.length > 0 ? true : undefined;
  }, { timeoutMs: 30_000, child: prometheus.child });
  t.comment(`stack up in ${Date.now() - started} ms (exporter scraped, rules loaded): alertmanager ${alertmanager.url}, prometheus ${prometheus.url}, exporter ${exporter.target}`);
  return { standIns, prometheus, exporter };
}

export const isFiring = (labels: Readonly<Record<string, string>>) => (message: WebhookMessage): boolean => message.status === 'firing' && findAlert(message, labels, 'firing') !== undefined;

/** Every alert of every notification at these stand-ins, as `stand-in: alertname/event_name`. */
export function alertsAt(standIns: StandIns, names: readonly string[]): string[] {
  return names.flatMap((name) => standIns.received(name).flatMap((notification) => notification.message.alerts.map((alert) => `${name}: ${alert.labels['alertname']}/${alert.labels['event_name'] ?? '-'}`)));
}

export function latency(notification: Notification, since: number): number {
  return notification.receivedAt - since;
}
