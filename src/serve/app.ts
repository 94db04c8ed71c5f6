// buildApp(deps): the one Fastify app, with /metrics, /-/healthy, /-/ready, the landing page and the push sources' routes; it never listens.

import type { Server as TlsServer } from 'node:tls';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { NotRestoredError } from '../errors.ts';
import type { SourceStatus } from '../sources/source.ts';
import { BasicAuth, UNAUTHORIZED } from './basic-auth.ts';
import { enforceClientCertificate, reloadCertificates, serverOptions } from './tls-server.ts';
import type { WebConfig } from './web-config.ts';
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
  /** TLS, response headers and basic auth users from --web-config-file. */
  readonly web?: WebConfig | undefined;
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

/** Fastify's server options for the web config: HTTPS (with HTTP/2 unless switched off, HTTP/1.1 always allowed) or plain HTTP. */
function transport(web: WebConfig | undefined): object {
  if (web?.tls === undefined) return {};
  const https = serverOptions(web.tls);
  return (web.http2 ? { http2: true, https: { ...https, allowHTTP1: true } } : { https });
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // The HTTPS and HTTP/2 servers are typed as other Fastify instances; the routes below use only what every transport has.
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    // Scrapes every few seconds would drown the operator's log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ...transport(deps.web),
  }) as unknown as FastifyInstance;
  const web = deps.web;
  if (web?.tls !== undefined) {
    reloadCertificates(app.server as unknown as TlsServer, web.tls, deps.logger);
    enforceClientCertificate(app.server as unknown as TlsServer, web.tls);
  }
  const headers = Object.entries(web?.headers ?? {});
  const auth = web === undefined || web.users.size === 0 ? undefined : new BasicAuth(web.users);
  if (headers.length > 0 || auth !== undefined) {
    // onRequest: before any body is read, so an unauthenticated client cannot make us buffer one.
    app.addHook('onRequest', async (request, reply) => {
      for (const [name, value] of headers) void reply.header(name, value);
      if (auth === undefined || request.routeOptions.config.basicAuth === false || web?.authExcludedPaths.has(request.url.split('?')[0] ?? '')) return;
      if (await auth.check(request.headers.authorization)) return;
      return reply.code(UNAUTHORIZED.status).header('www-authenticate', UNAUTHORIZED.challenge).type('text/plain; charset=utf-8').send(UNAUTHORIZED.body);
    });
  }
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
