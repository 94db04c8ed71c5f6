// A replay backfilled into a real Prometheus: `replay --output openmetrics`, the real `promtool tsdb create-blocks-from openmetrics`, a real `prometheus` on the blocks, and the historical counts queried back.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { requireCommand, ROOT, startPrometheus, tempDir } from '../support/prometheus-stack.ts';
import type { Prometheus } from '../support/prometheus-stack.ts';

const NODE = process.execPath;
const MAIN = join(ROOT, 'src/main.ts');
const FIXTURES = join(ROOT, 'test/fixtures');

/** Seconds of 2026-11-20 at hh:mm:ss UTC. */
const at = (time: string): number => Date.parse(`2026-11-20T${time}Z`) / 1000;

function record(fixture: string, eventId: string, time: string): Record<string, unknown> {
  const value = JSON.parse(readFileSync(join(FIXTURES, `${fixture}.json`), 'utf8')) as Record<string, unknown>;
  return { ...value, eventID: eventId, eventTime: `2026-11-20T${time}Z` };
}

/** Nearly six hours of one account's trail, as a gzipped CloudTrail S3 log file. */
const RECORDS = [
  record('cloudtrail/ScheduleKeyDeletion', 's1', '00:05:00'),
  record('cloudtrail/DisableKey', 'd1', '00:10:00'),
  record('cloudtrail/ScheduleKeyDeletion', 's2', '00:59:59'),
  // On the 01:00 boundary: counted from the 01:01 sample on.
  record('cloudtrail/ScheduleKeyDeletion', 's3', '01:00:00'),
  record('cloudtrail-pipeline/StopLogging', 'p1', '01:15:00'),
  record('cloudtrail/ScheduleKeyDeletion', 's4', '02:30:10'),
  // Delivered twice: counted once.
  record('cloudtrail/ScheduleKeyDeletion', 's4', '02:30:10'),
  record('cloudtrail/DisableKey', 'd2', '03:00:30'),
  record('cloudtrail/CreateGrant.AccessDenied', 'f1', '04:20:00'),
  record('cloudtrail/ScheduleKeyDeletion', 's5', '05:45:00'),
];

async function scalar(prometheus: Prometheus, expr: string, time: number): Promise<number | undefined> {
  const response = await prometheus.query(expr, time);
  if (response.status !== 'success') throw new Error(`${expr}: ${response.error}`);
  const [first] = response.data?.result ?? [];
  return first?.value === undefined ? undefined : Number(first.value[1]);
}

t.test('a replay imported by promtool into a real Prometheus answers the historical counts exactly', async (t) => {
  const promtool = requireCommand(['promtool']);
  const dir = await tempDir(t, 'backfill');
  const trail = join(dir, '111122223333_CloudTrail_us-east-1_20261120T0600Z_abc.json.gz');
  writeFileSync(trail, gzipSync(JSON.stringify({ Records: RECORDS })));

  const history = join(dir, 'history.om');
  const out = openSync(history, 'w');
  const replay = spawnSync(NODE, [MAIN, 'replay', '--output', 'openmetrics', trail], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', out, 'pipe'], encoding: 'utf8' });
  closeSync(out);
  t.equal(replay.stderr, '');
  t.equal(replay.status, 0);
  const text = readFileSync(history, 'utf8');
  t.ok(text.endsWith('\n# EOF\n'));
  const sampleLines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
  // 00:05 to 05:46 in 1-minute steps: ScheduleKeyDeletion's series (and its finding's: a 20-day window) 342 samples each.
  t.equal(text.split('\n').filter((line) => line.startsWith('kms_config_changes_total{event_name="ScheduleKeyDeletion"')).length, 342);

  const data = join(dir, 'data');
  const created = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', history, data], { encoding: 'utf8' });
  t.equal(created.status, 0, created.stderr);
  // promtool drops an out-of-order sample without a word: every line written must be in a block.
  const imported = created.stdout
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[4]), 0);
  t.equal(imported, sampleLines, 'promtool imported every sample');

  const prometheus = await startPrometheus(t, { targets: [], storagePath: data, retention: '100y' });
  const schedule = 'sum(kms_config_changes_total{event_name="ScheduleKeyDeletion"})';
  const counts: [string, number | undefined][] = [];
  for (const time of ['00:04:00', '00:05:00', '01:00:00', '01:01:00', '02:00:00', '03:00:00', '05:45:00', '05:46:00', '05:50:00']) counts.push([time, await scalar(prometheus, schedule, at(time))]);
  t.same(counts, [
    ['00:04:00', undefined],
    ['00:05:00', 0],
    ['01:00:00', 2],
    ['01:01:00', 3],
    ['02:00:00', 3],
    ['03:00:00', 4],
    ['05:45:00', 4],
    ['05:46:00', 5],
    // The last sample answers for Prometheus's 5-minute lookback after it.
    ['05:50:00', 5],
  ]);
  t.equal(await scalar(prometheus, schedule, at('05:52:00')), undefined, 'nothing 5 minutes after the last sample');

  // A series starts at 0 in its first step, so increase() sees its first changes, and with a sample every minute it is exact.
  const increase = 'sum(increase(kms_config_changes_total{event_name="ScheduleKeyDeletion"}[1h]))';
  t.equal(await scalar(prometheus, increase, at('01:00:00')), 2);
  t.equal(await scalar(prometheus, increase, at('03:00:00')), 1);
  t.equal(await scalar(prometheus, 'sum(increase(kms_config_changes_total{event_name="DisableKey"}[3h]))', at('03:10:00')), 2);
  t.equal(await scalar(prometheus, 'sum(kms_config_change_failures_total{event_name="CreateGrant",error_code="AccessDenied"})', at('04:21:00')), 1);
  t.equal(await scalar(prometheus, 'sum(kms_config_change_findings_total{finding="short_deletion_window"})', at('05:46:00')), 5);
  t.equal(await scalar(prometheus, 'sum(kms_pipeline_changes_total{event_name="StopLogging",blinding="blinds"})', at('02:00:00')), 1);
  // Self-metrics have no event time: not backfilled.
  t.equal(await scalar(prometheus, 'count(kms_exporter_records_total)', at('05:46:00')), undefined);

  // promtool adds no job or instance: the backfilled series carry only the exporter's labels.
  const response = await prometheus.query('kms_config_changes_total{event_name="DisableKey"}', at('05:46:00'));
  t.same(Object.keys(response.data?.result[0]?.metric ?? {}).sort(), ['__name__', 'aws_account_id', 'aws_region', 'category', 'event_name', 'expected', 'principal_type', 'risk']);
});
