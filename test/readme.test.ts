// The README documents every setting and every metric the code declares, so the docs cannot drift.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../src/config.ts';
import { METRIC } from '../src/record/instruments.ts';
import { PIPELINE_CATALOG } from '../src/catalog/pipeline-events.ts';
import { AWS_ERROR_KINDS } from '../src/sources/aws-errors.ts';
import { POLL_ERROR_KINDS } from '../src/sources/filter-log-events.ts';
import { EVENTBRIDGE_REQUEST_ERRORS } from '../src/sources/eventbridge/eventbridge-source.ts';
import { FIREHOSE_REQUEST_ERRORS } from '../src/sources/firehose/firehose-source.ts';
import { REPLAY_ERROR_KINDS } from '../src/sources/replay-files.ts';
import { SQS_ERROR_KINDS, SQS_EVENT_KINDS } from '../src/sources/sqs.ts';

const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');

t.test('every setting appears in the configuration table with its variable and default', async (t) => {
  for (const setting of SETTINGS) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${setting.flag}\``));
    t.ok(row, `${setting.flag} has a row`);
    t.match(row, `\`${setting.env}\``);
    if ('default' in setting && setting.default !== '') t.match(row, `\`${setting.default}\``);
  }
});

t.test('every metric appears in the metrics table', async (t) => {
  for (const name of Object.values(METRIC)) t.ok(readme.includes(`| \`${name}\` |`), name);
});

t.test('every pipeline catalog row appears in the pipeline events table, with its source, category and blinding', async (t) => {
  const rows = readme.split('\n').filter((line) => /^\| `[a-z]+\.amazonaws\.com` \| [A-Za-z]+ \|/.test(line));
  t.equal(rows.length, PIPELINE_CATALOG.length, 'one row per catalog entry');
  for (const entry of PIPELINE_CATALOG) {
    const row = rows.find((line) => line.startsWith(`| \`${entry.eventSource}\` | ${entry.eventName} |`));
    t.ok(row, `${entry.eventName} has a row`);
    t.match(row, `| ${entry.category} | ${entry.blinding}`);
  }
});

t.test('the README states exactly the two commands', async (t) => {
  t.match(readme, /npm ci && npm run demo/);
  t.match(readme, /npm run test:all/);
  t.match(readFileSync(join(import.meta.dirname, '../.ci/run'), 'utf8'), /npm run test:all/);
});

t.test('every error kind of every source is explained in the self-metrics table', async (t) => {
  const row = readme.split('\n').find((line) => line.startsWith('| `kms_exporter_source_errors_total{source,error}` |'));
  t.ok(row, 'the row exists');
  for (const kind of new Set([...POLL_ERROR_KINDS, ...AWS_ERROR_KINDS, ...FIREHOSE_REQUEST_ERRORS, ...EVENTBRIDGE_REQUEST_ERRORS, ...REPLAY_ERROR_KINDS, ...SQS_ERROR_KINDS])) {
    t.match(row, `\`${kind}\``, kind);
  }
});

t.test('every event kind of the sqs source is explained in the self-metrics table', async (t) => {
  const row = readme.split('\n').find((line) => line.startsWith('| `kms_exporter_source_events_total{source,event}` |'));
  t.ok(row, 'the row exists');
  for (const kind of SQS_EVENT_KINDS) t.match(row, `\`${kind}\``, kind);
});
