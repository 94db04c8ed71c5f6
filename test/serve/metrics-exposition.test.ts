// The whole /metrics body for the example trail, served in-process through app.inject and compared with a golden file.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleExposition } from '../support/example-exposition.ts';

const ROOT = join(import.meta.dirname, '../..');
const GOLDEN = join(ROOT, 'test/fixtures/exposition/example-trail.prom');

/** Where the process and runtime families (prom-client's, values of this very process) begin. */
const RUNTIME_START = /^# HELP process_/m;

t.test('golden: the example trail exposition, byte for byte', async (t) => {
  const { status, contentType, body } = await exampleExposition();
  t.equal(status, 200);
  t.equal(contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const runtimeAt = body.search(RUNTIME_START);
  t.ok(runtimeAt > 0, 'the process and runtime families follow ours');
  const ours = body.slice(0, runtimeAt);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, ours);
  t.equal(ours.replace(/node_version="[^"]+"/, 'node_version="NODE"'), readFileSync(GOLDEN, 'utf8').replace(/node_version="[^"]+"/, 'node_version="NODE"'));
});

t.test('process and runtime metrics under their standard names, after ours and not colliding with them', async (t) => {
  const { body } = await exampleExposition();
  const families = [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  for (const family of [
    'process_cpu_seconds_total counter',
    'process_resident_memory_bytes gauge',
    'process_start_time_seconds gauge',
    'process_open_fds gauge',
    'nodejs_eventloop_lag_seconds gauge',
    'nodejs_heap_size_used_bytes gauge',
    'nodejs_heap_size_total_bytes gauge',
    'nodejs_gc_duration_seconds histogram',
  ]) {
    t.ok(families.includes(family), family);
  }
  const names = families.map((family) => family.split(' ')[0]!);
  t.same(names.filter((name, index) => names.indexOf(name) !== index), [], 'no family is exposed twice');
  const runtime = body.slice(body.search(RUNTIME_START));
  t.notMatch(runtime, /^kms_/m, 'the runtime part has none of ours');
  t.match(body, /^process_start_time_seconds \d+$/m);
});

t.test('opt-in key_id and principal labels, under the value limit with an overflow value', async (t) => {
  const { body } = await exampleExposition({ labelKeyId: true, labelPrincipal: true, labelValueLimit: '3' });
  const keyIds = new Set([...body.matchAll(/^kms_config_changes_total\{[^}]*key_id="([^"]+)"/gm)].map((m) => m[1]));
  t.same([...keyIds].sort(), [...keyIds].filter((id) => id !== '__overflow__').slice(0, 3).concat('__overflow__').sort(), 'three keys and the overflow value');
  const principals = new Set([...body.matchAll(/^kms_config_changes_total\{[^}]*principal="([^"]+)"/gm)].map((m) => m[1]));
  t.equal(principals.size, 4, 'three principals and the overflow value');
  t.ok(principals.has('__overflow__'));
  t.match(body, /^kms_exporter_state_entries\{table="key_id_label_values"\} 3$/m, 'the limiter is full, and says so');
  t.match(body, /^kms_exporter_state_limit\{table="key_id_label_values"\} 3$/m);
  // The sum over all labels still equals the ground truth: nothing is lost to the limit.
  const truth = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as { successfulChanges: { total: number } };
  const total = [...body.matchAll(/^kms_config_changes_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  t.equal(total, truth.successfulChanges.total);
});

t.test('the series limit folds excess series into otel_metric_overflow', async (t) => {
  const { body } = await exampleExposition({ seriesLimit: '5' });
  t.match(body, /^kms_config_changes_total\{otel_metric_overflow="true"\} \d+$/m);
  const series = body.split('\n').filter((line) => line.startsWith('kms_config_changes_total{'));
  t.equal(series.length, 5, 'four series plus the overflow series');
});
