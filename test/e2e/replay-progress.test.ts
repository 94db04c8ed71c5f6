// The replay progress line as a user sees it: the real CLI under a pseudo-terminal (util-linux `script`) draws it on
// stderr, fitted to the terminal, and clears it; with stderr redirected to a file there is nothing of it, and stdout is
// the exposition alone. And over S3, the total grows page by page as the listing is read.
import t from 'tap';
import { RecordingProgress } from '../support/recording-progress.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { formatBytes } from '../../src/replay/progress.ts';
import { runReplay } from '../../src/service.ts';
import { cloudTrailRecord } from '../support/cloudtrail-record.ts';
import { startFakeS3 } from '../support/fake-s3/index.ts';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/main.ts');
const TRAIL = join(ROOT, 'examples/trail.jsonl.gz');
const truth = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as { successfulChanges: { total: number }; failedChanges: { total: number } };
const CHANGES = truth.successfulChanges.total + truth.failedChanges.total;
const TRAIL_BYTES = readFileSync(TRAIL).length;

// The SDK's default credential chain reads these (this file runs in its own process).
process.env['AWS_ACCESS_KEY_ID'] = 'AKIDEXAMPLE';
process.env['AWS_SECRET_ACCESS_KEY'] = 'secret';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const work = mkdtempSync(join(tmpdir(), 'kce-progress-e2e-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const quote = (text: string): string => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * `replay TRAIL -` under a pseudo-terminal `columns` wide, stdin the trail again then 1.5 s of silence before its end,
 * so the replay lasts long enough to be drawn; `redirect` is the shell's redirection of the command's output.
 */
function underTerminal(columns: number, redirect: string): { status: number | null; transcript: string } {
  const command = `stty cols ${columns} rows 24; { cat ${quote(TRAIL)}; sleep 1.5; } | ${quote(process.execPath)} ${quote(MAIN)} replay ${quote(TRAIL)} - ${redirect}`;
  const result = spawnSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: { PATH: process.env['PATH'] ?? '' } });
  return { status: result.status, transcript: result.stdout };
}

/** Each redraw of the line, in order: the text between a carriage return and the clear to the end of the line ('' is a clear). */
const draws = (transcript: string): string[] => [...transcript.matchAll(/\r([^\r\n\x1b]*)\x1b\[K/g)].map((match) => match[1]!);

/** The exposition without the delay sum, which is measured against the wall clock. */
const steady = (exposition: string): string => exposition.split('\n').filter((line) => !line.startsWith('kms_exporter_event_delay_seconds_sum')).join('\n');

const plainRun = (): string => spawnSync(process.execPath, [MAIN, 'replay', TRAIL, '-'], { input: readFileSync(TRAIL), encoding: 'utf8', cwd: ROOT, env: { PATH: process.env['PATH'] ?? '' } }).stdout;

const LINE = /^[01] of 2 files \| \d+(\.\d)? k?B of \? \| (\?|\d+(\.\d)?k?) rec\/s \| \d+ changes? \| \? left$/;

t.test('on a terminal: the line is drawn on stderr in place, then cleared; stdout is the exposition alone', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const out = join(work, 'wide.prom');
  const { status, transcript } = underTerminal(100, `> ${quote(out)}`);
  t.equal(status, 0);
  const drawn = draws(transcript);
  t.ok(drawn.length >= 3, `drawn at least twice, then cleared (${drawn.length} writes)`);
  t.ok(drawn.length <= 12, 'at most ~4 redraws a second over the 1.5 s pause (and the same line is not redrawn)');
  t.equal(drawn.at(-1), '', 'the last write clears the line');
  t.ok(transcript.endsWith('\r\x1b[K'), 'nothing after the clear: the terminal is clean');
  const lines = drawn.slice(0, -1);
  for (const line of lines) t.match(line, LINE);
  t.match(lines.at(-1), new RegExp(`^1 of 2 files \\| ${formatBytes(2 * TRAIL_BYTES)} of \\? \\| \\S+ rec/s \\| ${CHANGES} changes \\| \\? left$`), 'the file read, stdin read and not ended (its size unknown), every change found');
  t.notMatch(transcript, /# HELP/, 'no exposition on the terminal: it went to stdout, the file');
  t.equal(steady(readFileSync(out, 'utf8')), steady(plainRun()), 'stdout is exactly what a run without a terminal prints');
});

t.test('on a narrow terminal: every redraw fits in its width', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const { status, transcript } = underTerminal(30, `> ${quote(join(work, 'narrow.prom'))}`);
  t.equal(status, 0);
  const lines = draws(transcript).slice(0, -1);
  t.ok(lines.length >= 1);
  for (const line of lines) t.ok(line.length <= 29, `${JSON.stringify(line)} fits in 29 columns`);
  t.equal(lines.at(-1), `${formatBytes(2 * TRAIL_BYTES)} of ? | ? left`);
});

t.test('stderr redirected to a file: nothing of the line, there or on the terminal', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const err = join(work, 'stderr.txt');
  const out = join(work, 'redirected.prom');
  const { status, transcript } = underTerminal(100, `2> ${quote(err)} > ${quote(out)}`);
  t.equal(status, 0);
  t.equal(readFileSync(err, 'utf8'), '');
  t.equal(transcript, '');
  t.equal(steady(readFileSync(out, 'utf8')), steady(plainRun()));
});


t.test('replay s3://: the total grows as each listing page comes, before its objects are read', async (t) => {
  const fake = await startFakeS3({ pageSize: 2 });
  t.teardown(() => fake.close());
  const trail = 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20';
  const bodies = ['e1', 'e22', 'e333'].map((id) => gzipSync(JSON.stringify({ Records: [JSON.parse(cloudTrailRecord('DisableKey', id, Date.parse('2026-11-20T09:00:00Z'))) as unknown] })));
  bodies.forEach((body, i) => fake.api.putObject('trail', `${trail}/111122223333_CloudTrail_eu-west-1_20261120T0900Z_f${i}.json.gz`, body));
  // Not log files: neither counted in the total nor read.
  fake.api.putObject('trail', `${trail}/notes.txt`, Buffer.from('hello'));
  const progress = new RecordingProgress();
  const env = { AWS_ENDPOINT_URL_S3: fake.endpoint, AWS_REGION: 'eu-west-1' };
  const result = await runReplay(['s3://trail/AWSLogs/'], loadConfig({ awsMaxAttempts: '3', jobs: '1' }), { env, log: pino({ level: 'silent' }), stdin: Readable.from([]), progress });
  t.same(result.errors, []);
  const [a, b, c] = bodies.map((body) => body.length);
  t.same(progress.calls, [`known 2 ${a! + b!}`, `read ${a}`, 'done', `read ${b}`, 'done', `known 1 ${c}`, `read ${c}`, 'done']);
});
