// The shipped Alertmanager routing tree with every receiver turned into a webhook to a local listener standing in for its channel (PagerDuty, SMS, Slack, e-mail, ServiceNow, Zendesk).

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { parse, stringify } from 'yaml';
import type { Scope } from './prometheus-stack.ts';
import { waitUntil } from './prometheus-stack.ts';

/**
 * What each integration does when its config does not say: Alertmanager 0.25's defaults.
 * A stand-in must keep the shipped decision, so an integration missing here is an error.
 */
const SEND_RESOLVED_DEFAULT: Readonly<Record<string, boolean>> = {
  email_configs: false,
  pagerduty_configs: true,
  slack_configs: false,
  sns_configs: true,
  webhook_configs: true,
  opsgenie_configs: true,
  victorops_configs: true,
  pushover_configs: true,
  wechat_configs: false,
  telegram_configs: true,
  discord_configs: true,
  webex_configs: true,
};

/** Short enough that a notification follows an alert in seconds, long enough to batch one evaluation's alerts. */
export const TEST_TIMING = { group_wait: '1s', group_interval: '2s', repeat_interval: '1h' } as const;

const TIMING_KEYS = Object.keys(TEST_TIMING) as readonly (keyof typeof TEST_TIMING)[];

export interface StandInTarget {
  readonly receiver: string;
  /** The shipped integration, e.g. `pagerduty_configs`, and its index in the receiver. */
  readonly integration: string;
  readonly index: number;
  readonly sendResolved: boolean;
}

export interface TestVariantOptions {
  /** The webhook URL standing in for one integration of a receiver. */
  readonly url: (target: StandInTarget) => string;
  /** The shipped config's directory as seen from where the variant is loaded: relative template globs are resolved against it. */
  readonly shippedDir: string;
}

interface RouteNode {
  [key: string]: unknown;
  routes?: RouteNode[];
}

type Receiver = Record<string, unknown> & { name: string };

/**
 * The shipped config with only what cannot run here replaced: each receiver's integrations
 * become webhooks (keeping each one's send_resolved), global settings that name secret files
 * or SMTP and Slack servers go, template globs point at alerts/templates, and the grouping
 * timers are shortened wherever the tree sets them. The routes, matchers, `continue`s,
 * grouping and inhibition are the shipped ones, untouched.
 */
export function alertmanagerTestVariant(shippedYaml: string, options: TestVariantOptions): { config: Record<string, unknown>; targets: StandInTarget[] } {
  const shipped = parse(shippedYaml) as Record<string, unknown>;
  const targets: StandInTarget[] = [];
  const receivers = (shipped['receivers'] as Receiver[]).map((receiver) => {
    const webhooks: Record<string, unknown>[] = [];
    for (const [key, value] of Object.entries(receiver)) {
      if (!key.endsWith('_configs')) continue;
      const defaultSendResolved = SEND_RESOLVED_DEFAULT[key];
      if (defaultSendResolved === undefined) throw new Error(`receiver ${receiver.name}: no send_resolved default known for ${key}`);
      (value as Record<string, unknown>[]).forEach((integration, index) => {
        const sendResolved = typeof integration['send_resolved'] === 'boolean' ? integration['send_resolved'] : defaultSendResolved;
        const target: StandInTarget = { receiver: receiver.name, integration: key, index, sendResolved };
        targets.push(target);
        webhooks.push({ url: options.url(target), send_resolved: sendResolved, max_alerts: 0 });
      });
    }
    return webhooks.length === 0 ? { name: receiver.name } : { name: receiver.name, webhook_configs: webhooks };
  });

  const retimed = (node: RouteNode, isRoot: boolean): RouteNode => {
    const copy: RouteNode = { ...node };
    for (const key of TIMING_KEYS) if (isRoot || key in copy) copy[key] = TEST_TIMING[key];
    if (node.routes !== undefined) copy.routes = node.routes.map((child) => retimed(child, false));
    return copy;
  };

  const global = shipped['global'] as Record<string, unknown> | undefined;
  const templates = (shipped['templates'] as string[] | undefined) ?? [];
  const config: Record<string, unknown> = {
    ...(global?.['resolve_timeout'] === undefined ? {} : { global: { resolve_timeout: global['resolve_timeout'] } }),
    templates: templates.map((glob) => (glob.startsWith('/') ? glob : `${options.shippedDir}/${glob}`)),
    route: retimed(shipped['route'] as RouteNode, true),
    ...(shipped['inhibit_rules'] === undefined ? {} : { inhibit_rules: shipped['inhibit_rules'] }),
    ...(shipped['time_intervals'] === undefined ? {} : { time_intervals: shipped['time_intervals'] }),
    receivers,
  };
  return { config, targets };
}

export const FIXTURE_HEADER = `# GENERATED from alerts/alertmanager.yml by alertmanagerTestVariant() in
# test/support/alertmanager-stand-ins.ts; do not edit. test/e2e/alerting.test.ts checks it
# is current (regenerate: TAP_SNAPSHOT=1 npx tap test/e2e/alerting.test.ts), runs amtool on
# it, and at run time points the stand-in URLs at its local listeners.
#
# The shipped routing tree, matchers, grouping and inhibition, unchanged; each receiver's
# integrations replaced by webhooks to stand-ins, each keeping its send_resolved; grouping
# timers shortened for the test.
`;

export function renderVariant(config: Record<string, unknown>): string {
  return `${FIXTURE_HEADER}${stringify(config, { lineWidth: 0 })}`;
}

export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly fingerprint: string;
}

/** Alertmanager's webhook payload (version 4). */
export interface WebhookMessage {
  readonly version: string;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupKey: string;
  readonly groupLabels: Readonly<Record<string, string>>;
  readonly commonLabels: Readonly<Record<string, string>>;
  readonly commonAnnotations: Readonly<Record<string, string>>;
  readonly alerts: readonly WebhookAlert[];
}

export interface Notification {
  /** The stand-in that received it: the shipped receiver's name. */
  readonly standIn: string;
  readonly path: string;
  readonly receivedAt: number;
  readonly message: WebhookMessage;
}

/** One HTTP listener per receiver, on its own port, so a misrouted notification cannot be mistaken for a routed one. */
export class StandIns {
  private readonly servers = new Map<string, { server: Server; port: number }>();
  private readonly log: Notification[] = [];

  static async start(scope: Scope, receivers: readonly string[]): Promise<StandIns> {
    const standIns = new StandIns();
    for (const receiver of receivers) await standIns.listen(scope, receiver);
    return standIns;
  }

  private async listen(scope: Scope, standIn: string): Promise<void> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        try {
          const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookMessage;
          this.log.push({ standIn, path: request.url ?? '', receivedAt: Date.now(), message });
          response.writeHead(200).end();
        } catch {
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('stand-in has no port');
    this.servers.set(standIn, { server, port: address.port });
    scope.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  }

  url(target: StandInTarget): string {
    const entry = this.servers.get(target.receiver);
    if (entry === undefined) throw new Error(`no stand-in for receiver ${target.receiver}`);
    return `http://127.0.0.1:${entry.port}/${target.integration}/${target.index}`;
  }

  received(standIn?: string): Notification[] {
    return this.log.filter((notification) => standIn === undefined || notification.standIn === standIn);
  }

  /** The first notification at `standIn` that `match` accepts, waiting for it up to `timeoutMs`. */
  async waitFor(standIn: string, what: string, match: (message: WebhookMessage) => boolean, timeoutMs: number): Promise<Notification> {
    try {
      return await waitUntil(`${what} at the ${standIn} stand-in`, async () => this.received(standIn).find((notification) => match(notification.message)), { timeoutMs, intervalMs: 100 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\nreceived so far:\n${this.describe()}`);
    }
  }

  /** One line per notification received, for failure messages. */
  describe(): string {
    if (this.log.length === 0) return '  (nothing)';
    return this.log
      .map(({ standIn, message }) => `  ${standIn}: ${message.status} ${message.alerts.map((alert) => `${alert.labels['alertname']}/${alert.labels['event_name'] ?? '-'}(${alert.status})`).join(', ')}`)
      .join('\n');
  }
}

/** The alert of a notification with these labels, if it has one. */
export function findAlert(message: WebhookMessage, labels: Readonly<Record<string, string>>, status?: 'firing' | 'resolved'): WebhookAlert | undefined {
  return message.alerts.find((alert) => (status === undefined || alert.status === status) && Object.entries(labels).every(([name, value]) => alert.labels[name] === value));
}
