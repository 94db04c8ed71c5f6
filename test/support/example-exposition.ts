// The example trail served in-process through the replay source and scraped once with app.inject, at a fixed "now".
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { buildService } from '../../src/service.ts';

const ROOT = join(import.meta.dirname, '../..');
// One day after the trail's last record, so the delay histogram is reproducible.
const NOW = Date.parse('2026-11-25T00:00:00Z');

/** Serves the example trail through the replay source and scrapes it once. */
export async function exampleExposition(overrides: Record<string, unknown> = {}): Promise<{ status: number; contentType: string | undefined; body: string }> {
  const config = loadConfig({ source: 'replay', replay: join(ROOT, 'examples/trail.jsonl.gz'), ...overrides });
  const service = await buildService(config, { env: {}, log: pino({ level: 'silent' }), now: () => NOW });
  await service.start({ listen: false });
  await service.restored;
  while (!service.sources[0]!.status().ready) await new Promise((resolve) => setTimeout(resolve, 5));
  const response = await service.app.inject({ method: 'GET', url: '/metrics' });
  await service.stop();
  return { status: response.statusCode, contentType: response.headers['content-type'] as string | undefined, body: response.body };
}

