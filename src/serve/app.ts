// buildApp(deps): the one Fastify app, with /metrics, /-/healthy, /-/ready and the landing page; it never listens.

import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

export interface SourceStatus {
  readonly ready: boolean;
  /** What the operator should know when it is not ready. */
  readonly detail: string;
}

export interface AppDeps {
  readonly version: string;
  /** The Prometheus exporter's request handler. */
  readonly metricsHandler: (request: IncomingMessage, response: ServerResponse) => void;
  /** Each source's readiness; the service is ready when every source is. */
  readonly sourceStatus: () => Readonly<Record<string, SourceStatus>>;
  readonly logger: FastifyBaseLogger;
  /** Further routes (the Firehose endpoint) registered on the same app. */
  readonly plugins?: readonly ((app: FastifyInstance) => Promise<void> | void)[];
  readonly bodyLimit?: number;
}

function landingPage(version: string, sources: Readonly<Record<string, SourceStatus>>): string {
  const rows = Object.entries(sources)
    .map(([name, status]) => `<tr><td>${escapeHtml(name)}</td><td>${status.ready ? 'ready' : 'not ready'}</td><td>${escapeHtml(status.detail)}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kms-change-exporter</title></head>
<body>
<h1>kms-change-exporter</h1>
<p>Counts AWS KMS configuration changes from CloudTrail as Prometheus metrics and OpenTelemetry log events. Version ${escapeHtml(version)}.</p>
<ul><li><a href="metrics">Metrics</a></li><li><a href="-/healthy">Health</a></li><li><a href="-/ready">Readiness</a></li></ul>
<table><thead><tr><th>Source</th><th>State</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table>
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

  app.get('/metrics', (request, reply) => {
    // The exporter writes the exposition itself; Fastify steps aside for this response.
    reply.hijack();
    deps.metricsHandler(request.raw, reply.raw);
  });

  app.get('/-/healthy', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('kms-change-exporter is healthy.\n'));

  app.get('/-/ready', async (_request, reply) => {
    const sources = deps.sourceStatus();
    const ready = Object.values(sources).every((status) => status.ready);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', sources });
  });

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(landingPage(deps.version, deps.sourceStatus())));

  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
