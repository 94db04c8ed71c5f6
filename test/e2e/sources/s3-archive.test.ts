// replay s3://BUCKET/PREFIX through the real @aws-sdk/client-s3 against the wire-level fake S3: the same exposition as the
// same files replayed locally; digest files and other objects skipped; a missing or unreadable object reported without stopping the others.
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { runReplay } from '../../../src/service.ts';
import { startFakeS3 } from '../../support/fake-s3/index.ts';
import type { FakeS3 } from '../../support/fake-s3/index.ts';

// The SDK's default credential chain reads these (this file runs in its own process).
process.env['AWS_ACCESS_KEY_ID'] = 'AKIDEXAMPLE';
process.env['AWS_SECRET_ACCESS_KEY'] = 'secret';

/** A fixed clock: the event delay histogram is measured against it. */
const NOW = Date.parse('2026-12-01T00:00:00Z');
const FIXTURES = new URL('../../fixtures/cloudtrail/', import.meta.url).pathname;
const BUCKET = 'org-trail';
const TRAIL = 'AWSLogs/o-abc123def4/111122223333/CloudTrail/eu-west-1';

/** The fixtures as three S3 log files ({"Records":[...]}, gzipped), one per day. */
function logFiles(): { day: string; name: string; body: Buffer }[] {
  const records = readdirSync(FIXTURES).filter((name) => name.endsWith('.json')).sort().map((name) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as unknown);
  const days = ['2026/11/18', '2026/11/19', '2026/11/20'];
  return days.map((day, index) => ({
    day,
    name: `111122223333_CloudTrail_eu-west-1_${day.replaceAll('/', '')}T0905Z_file${index}.json.gz`,
    body: gzipSync(JSON.stringify({ Records: records.filter((_, i) => i % days.length === index) })),
  }));
}

interface Archive {
  readonly fake: FakeS3;
  readonly localPaths: string[];
  readonly keys: string[];
}

async function archive(t: Test, pageSize?: number): Promise<Archive> {
  const fake = await startFakeS3(pageSize === undefined ? {} : { pageSize });
  t.teardown(() => fake.close());
  const dir = mkdtempSync(join(tmpdir(), 'kce-s3-archive-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const localPaths: string[] = [];
  const keys: string[] = [];
  for (const file of logFiles()) {
    const key = `${TRAIL}/${file.day}/${file.name}`;
    fake.api.putObject(BUCKET, key, file.body);
    keys.push(key);
    const path = join(dir, file.name);
    writeFileSync(path, file.body);
    localPaths.push(path);
  }
  // Beside the log files: a digest file (also .json.gz) and objects that are not log files.
  fake.api.putObject(BUCKET, `AWSLogs/o-abc123def4/111122223333/CloudTrail-Digest/eu-west-1/2026/11/19/111122223333_CloudTrail-Digest_eu-west-1_trail_eu-west-1_20261119T100000Z.json.gz`, gzipSync('{"not":"records"}'));
  fake.api.putObject(BUCKET, `AWSLogs/o-abc123def4/111122223333/CloudTrail/eu-west-1/2026/11/19/notes.txt`, Buffer.from('hello'));
  fake.api.putObject(BUCKET, 'AWSLogs/o-abc123def4/111122223333/CloudTrail/eu-west-1/', Buffer.alloc(0));
  return { fake, localPaths, keys };
}

const ENV = (fake: FakeS3) => ({ AWS_ENDPOINT_URL_S3: fake.endpoint, AWS_REGION: 'eu-west-1' });

/** One decode thread unless asked: the tests below inject faults into "the next" request, which needs the requests in order. */
async function replay(paths: readonly string[], env: NodeJS.ProcessEnv, settings: Record<string, string> = {}) {
  return runReplay(paths, loadConfig({ awsMaxAttempts: '3', jobs: '1', ...settings }), { env, log: pino({ level: 'silent' }), now: () => NOW, stdin: Readable.from([]) });
}

/** The exposition without the series only an AWS-reading run has (its S3 calls). */
const withoutAwsCalls = (exposition: string): string => exposition.split('\n').filter((line) => !line.includes('kms_exporter_aws_')).join('\n');
const awsCallLines = (exposition: string): string[] => exposition.split('\n').filter((line) => line.startsWith('kms_exporter_aws_')).sort();

t.test('replay s3://BUCKET/PREFIX gives the exposition of the same files replayed locally, reading only the log files', async (t) => {
  const { fake, localPaths, keys } = await archive(t);
  const local = await replay(localPaths, {});
  t.same(local.errors, []);
  t.match(local.exposition, /kms_config_changes_total\{/, 'the fixtures count changes');
  const s3 = await replay([`s3://${BUCKET}/AWSLogs/`], ENV(fake));
  t.same(s3.errors, []);
  t.equal(withoutAwsCalls(s3.exposition), withoutAwsCalls(local.exposition));
  t.same(fake.api.requests().filter((r) => r.startsWith('GetObject')), keys.map((key) => `GetObject 200 ${key}`), 'no digest file, no other object fetched');
  t.same(awsCallLines(s3.exposition), [
    'kms_exporter_aws_requests_total{operation="GetObject",outcome="success"} 3',
    'kms_exporter_aws_requests_total{operation="ListObjectsV2",outcome="success"} 1',
  ]);
  // Three decode threads: the objects are fetched at once, in any order, and counted in the listing's.
  const before = fake.api.requests().length;
  const parallel = await replay([`s3://${BUCKET}/AWSLogs/`], ENV(fake), { jobs: '3' });
  t.same(parallel.exposition, s3.exposition, '--jobs 3: the same exposition, AWS calls included');
  t.same(fake.api.requests().slice(before).filter((r) => r.startsWith('GetObject')).sort(), keys.map((key) => `GetObject 200 ${key}`).sort(), '--jobs 3: each log file fetched once');
});

t.test('a missing or unreadable object is an input error after the records of the others; throttling and 5xx are retried and counted', async (t) => {
  const { fake, localPaths, keys } = await archive(t);
  fake.api.denyObject(BUCKET, keys[1]!);
  fake.api.failNext('ListObjectsV2', 'SlowDown');
  fake.api.failNext('GetObject', 'InternalError');
  const s3 = await replay([`s3://${BUCKET}/${TRAIL}/`, `s3://${BUCKET}/${TRAIL}/2026/11/21/` /* a day with no file: nothing, and no error */, `s3://no-such-bucket/AWSLogs/`], ENV(fake));
  t.same(s3.errors.map((error) => error.message), [
    `s3://${BUCKET}/${keys[1]!}: access denied (AccessDenied): the reader needs s3:GetObject on it (and kms:Decrypt on an SSE-KMS trail)`,
    's3://no-such-bucket/AWSLogs/: cannot list it: NoSuchBucket (HTTP 404): The specified bucket does not exist',
  ]);
  const local = await replay([localPaths[0]!, localPaths[2]!], {});
  t.equal(withoutAwsCalls(s3.exposition), withoutAwsCalls(local.exposition), 'the other files counted in full');
  t.same(awsCallLines(s3.exposition), [
    'kms_exporter_aws_requests_total{operation="GetObject",outcome="access_denied"} 1',
    'kms_exporter_aws_requests_total{operation="GetObject",outcome="server_error"} 1',
    'kms_exporter_aws_requests_total{operation="GetObject",outcome="success"} 2',
    'kms_exporter_aws_requests_total{operation="ListObjectsV2",outcome="not_found"} 1',
    'kms_exporter_aws_requests_total{operation="ListObjectsV2",outcome="success"} 2',
    'kms_exporter_aws_requests_total{operation="ListObjectsV2",outcome="throttled"} 1',
  ]);
});

t.test('--from/--to: with a prefix down to the region only the days inside are listed; above it, the keys are filtered by their day', async (t) => {
  const { fake, localPaths, keys } = await archive(t);
  const days = { from: '2026-11-19', to: '2026-11-20' };
  const local = await replay(localPaths.slice(1), {});
  const byDay = await replay([`s3://${BUCKET}/${TRAIL}`], ENV(fake), days);
  t.same(byDay.errors, []);
  t.equal(withoutAwsCalls(byDay.exposition), withoutAwsCalls(local.exposition));
  t.same(fake.api.requests().filter((r) => r.startsWith('ListObjectsV2')).map((r) => new URLSearchParams(r.split(' ')[2]).get('prefix')), [`${TRAIL}/2026/11/19/`, `${TRAIL}/2026/11/20/`], 'one listing per day, nothing outside');
  t.same(fake.api.requests().filter((r) => r.startsWith('GetObject')), keys.slice(1).map((key) => `GetObject 200 ${key}`));
  const filtered = await replay([`s3://${BUCKET}/AWSLogs/`], ENV(fake), days);
  t.equal(withoutAwsCalls(filtered.exposition), withoutAwsCalls(local.exposition));
  await t.rejects(replay([`s3://${BUCKET}/AWSLogs/`], ENV(fake), { from: '2026-11-20', to: '2026-11-19' }), { message: 'invalid --from (KMS_EXPORTER_REPLAY_FROM): 2026-11-20 is after --to 2026-11-19' });
  t.throws(() => loadConfig({ from: '2026-02-30' }), { message: 'invalid --from (KMS_EXPORTER_REPLAY_FROM): expected a day as YYYY-MM-DD, got "2026-02-30"' });
});

t.test('pages of the listing followed to the end; an object gone by the time it is read and a body cut short are input errors, the others read', async (t) => {
  const { fake, localPaths, keys } = await archive(t, 2);
  fake.api.failNext('GetObject', 'NoSuchKey');
  const gone = await replay([`s3://${BUCKET}/AWSLogs/`], ENV(fake));
  t.same(gone.errors.map((error) => error.message), [`s3://${BUCKET}/${keys[0]!}: no such object (NoSuchKey)`]);
  t.equal(withoutAwsCalls(gone.exposition), withoutAwsCalls((await replay(localPaths.slice(1), {})).exposition));
  t.equal(fake.api.requests().filter((r) => r.startsWith('ListObjectsV2 200')).length, 3, 'six objects (log files, digest, others) in pages of 2');
  fake.api.failNext('GetObject', { cut: 100 });
  const cut = await replay([`s3://${BUCKET}/${TRAIL}/`], ENV(fake));
  t.same(cut.errors.map((error) => error.message), [`s3://${BUCKET}/${keys[0]!}: the connection dropped while reading it: what was read before is counted`]);
  t.match(cut.exposition, /kms_exporter_records_total\{source="replay",result="matched"\} \d+/);
});

t.test('the command: replay s3://... prints the exposition on stdout, each unreadable object on stderr, and exits 1', async (t) => {
  const { fake, keys } = await archive(t);
  fake.api.denyObject(BUCKET, keys[2]!);
  const root = join(import.meta.dirname, '../../..');
  const child = spawn(process.execPath, [join(root, 'src/main.ts'), 'replay', '--from', '2026-11-19', `s3://${BUCKET}/${TRAIL}`], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...ENV(fake), AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(status, 1);
  t.equal(stderr, `kms-change-exporter: s3://${BUCKET}/${keys[2]!}: access denied (AccessDenied): the reader needs s3:GetObject on it (and kms:Decrypt on an SSE-KMS trail)\n`);
  t.match(stdout, /kms_config_changes_total\{/);
  // Fetched by the decode threads at once: in any order.
  t.same(fake.api.requests().filter((r) => r.startsWith('GetObject')).sort(), [`GetObject 200 ${keys[1]!}`, `GetObject 403 ${keys[2]!}`], '--from: the first day is not read');
});
