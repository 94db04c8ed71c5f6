// The whole /metrics body for the example trail, compared with a golden file and checked by the real promtool.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { wire } from '../../src/main.ts';
import { buildApp } from '../../src/serve/app.ts';
import { replayFiles } from '../../src/sources/replay-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const GOLDEN = join(ROOT, 'test/fixtures/exposition/example-trail.prom');
// A fixed "now", one day after the trail's last record, so the delay histogram is reproducible.
const NOW = Date.parse('2026-11-25T00:00:00Z');

async function exposition(overrides: Record<string, unknown> = {}, files = [join(ROOT, 'examples/trail.jsonl.gz')]): Promise<string> {
  const config = loadConfig(overrides);
  const log = pino({ level: 'silent' });
  const { telemetry, pipeline, selfMetrics } = await wire(config, log, undefined, {}, () => NOW);
  selfMetrics.declareSource('replay');
  const options = { stdin: process.stdin, maxRecordBytes: config.maxRecordBytes, maxDocumentBytes: 1 << 26 };
  for await (const batch of replayFiles(files, options, (error) => t.fail(error.message))) pipeline.handleBatch('replay', batch);
  const app = await buildApp({ version: 'test', logger: log, metricsHandler: (req, res) => telemetry.prometheus.getMetricsRequestHandler(req, res), sourceStatus: () => ({}) });
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  await app.close();
  await telemetry.shutdown();
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^text\/plain/);
  return response.body;
}

function promtoolCheck(body: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`promtool not found: run scripts/install-test-tools.sh (${result.error.message})`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

t.test('golden: the example trail exposition, byte for byte', async (t) => {
  const body = await exposition();
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, body);
  t.equal(body.replace(/node_version="[^"]+"/, 'node_version="NODE"'), readFileSync(GOLDEN, 'utf8').replace(/node_version="[^"]+"/, 'node_version="NODE"'));
});

t.test('promtool check metrics finds nothing to say', async (t) => {
  const result = promtoolCheck(await exposition());
  t.equal(result.status, 0);
  t.equal(result.output, '');
});

t.test('opt-in key_id and principal labels, under the value limit with an overflow value', async (t) => {
  const body = await exposition({ labelKeyId: true, labelPrincipal: true, labelValueLimit: '3' });
  const keyIds = new Set([...body.matchAll(/^kms_config_changes_total\{[^}]*key_id="([^"]+)"/gm)].map((m) => m[1]));
  t.equal(keyIds.size, 4, 'three keys and the overflow value');
  t.ok(keyIds.has('__overflow__'));
  const principals = new Set([...body.matchAll(/^kms_config_changes_total\{[^}]*principal="([^"]+)"/gm)].map((m) => m[1]));
  t.ok(principals.has('__overflow__'));
  t.equal(principals.size, 4);
  // The sum over all labels still equals the ground truth: nothing is lost to the limit.
  const truth = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as { successfulChanges: { total: number } };
  const total = [...body.matchAll(/^kms_config_changes_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  t.equal(total, truth.successfulChanges.total);
  const result = promtoolCheck(body);
  t.equal(result.status, 0);
});

t.test('the series limit folds excess series into otel_metric_overflow', async (t) => {
  const body = await exposition({ seriesLimit: '5' });
  t.match(body, /^kms_config_changes_total\{otel_metric_overflow="true"\} \d+$/m);
  const series = body.split('\n').filter((line) => line.startsWith('kms_config_changes_total{'));
  t.equal(series.length, 5, 'four series plus the overflow series');
});
