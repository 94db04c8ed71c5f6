// buildApp(deps): the one Fastify app, with /metrics, /-/healthy, /-/ready, the landing page and the push sources' routes; it never listens.

import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { NotRestoredError } from '../errors.ts';
import type { SourceStatus } from '../sources/source.ts';
import { applyServerLimits } from './server-limits.ts';
import type { ServerLimits } from './server-limits.ts';

/** What Prometheus' own exporters answer with (text format 0.0.4). */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface AppDeps {
  readonly version: string;
  /** The text exposition; rejects with NotRestoredError while the state is not restored yet. */
  readonly metrics: () => Promise<string>;
  /** Each part's readiness (sources, the state store); the service is ready when every part is. */
  readonly status: () => Readonly<Record<string, SourceStatus>>;
  readonly logger: FastifyBaseLogger;
  /** Further routes (the push sources) registered on the same app. */
  readonly plugins?: readonly ((app: FastifyInstance) => Promise<void>)[];
  readonly bodyLimit?: number;
  /** Timeouts and the connection cap of the Node server (defaults: Node's own). */
  readonly limits?: ServerLimits;
}

function landingPage(version: string, parts: Readonly<Record<string, SourceStatus>>): string {
  const rows = Object.entries(parts)
    .map(([name, status]) => `<tr><td>${escapeHtml(name)}</td><td>${status.ready ? 'ready' : 'not ready'}</td><td>${escapeHtml(status.detail)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kms-change-exporter</title></head>
<body>
<h1>kms-change-exporter</h1>
<p>Counts AWS KMS configuration changes from CloudTrail as Prometheus metrics and OpenTelemetry log events. Version ${escapeHtml(version)}.</p>
<ul><li><a href="metrics">Metrics</a></li><li><a href="-/healthy">Health</a></li><li><a href="-/ready">Readiness</a></li></ul>
<table><thead><tr><th>Part</th><th>State</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    // Scrapes every few seconds would drown the operator's log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  if (deps.limits !== undefined) applyServerLimits(app.server, deps.limits);

  app.get('/metrics', async (_request, reply) => {
    try {
      const body = await deps.metrics();
      return reply.type(EXPOSITION_CONTENT_TYPE).send(body);
    } catch (error) {
      // Zeroed counters before the restore would read as a reset and re-fire every change alert: a failed scrape is honest.
      if (error instanceof NotRestoredError) return reply.code(503).type('text/plain; charset=utf-8').send(`${error.message}\n`);
      throw error;
    }
  });

  app.get('/-/healthy', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('kms-change-exporter is healthy.\n'));

  app.get('/-/ready', async (_request, reply) => {
    const sources = deps.status();
    const ready = Object.values(sources).every((status) => status.ready);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', sources });
  });

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(landingPage(deps.version, deps.status())));

  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
