// replay s3:// through the real @aws-sdk/client-s3 against the wire-level fake S3: a selection of accounts, regions and
// days makes exactly the requests it needs (the fake's request log), and a replay killed with SIGKILL midway, run again
// with the same arguments and --manifest, prints what an uninterrupted run prints.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startFakeS3 } from '../../support/fake-s3/index.ts';
import type { FakeS3 } from '../../support/fake-s3/index.ts';

const ROOT = join(import.meta.dirname, '../../..');
const FIXTURES = join(ROOT, 'test/fixtures/cloudtrail');
const BUCKET = 'org-trail';
const ORG = 'o-abc123def4';

interface Run {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function replay(fake: FakeS3, args: readonly string[], onSpawn?: (kill: () => void) => void): Promise<Run> {
  const child = spawn(process.execPath, [join(ROOT, 'src/main.ts'), 'replay', ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', AWS_ENDPOINT_URL_S3: fake.endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', KMS_EXPORTER_LOG_LEVEL: 'error' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  onSpawn?.(() => child.kill('SIGKILL'));
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

/** `prefix|delimiter` of each listing, and the key of each GetObject, in the order the fake answered them. */
function requestLog(fake: FakeS3): string[] {
  return fake.api.requests().map((line) => {
    const [operation = '', status = '', target = ''] = line.split(' ');
    if (operation === 'GetObject') return `GetObject ${status} ${target}`;
    const query = new URLSearchParams(target);
    return `ListObjectsV2 ${status} ${query.get('prefix') ?? ''}|${query.get('delimiter') ?? ''}`;
  });
}

t.test('2 of 50 accounts, 1 of 17 regions, 3 of 5 days: 7 listings and the 12 log files, nothing else', async (t) => {
  const fake = await startFakeS3();
  t.teardown(() => fake.close());
  const accounts = Array.from({ length: 50 }, (_, i) => String(100000000000 + i * 1111));
  const regions = ['af-south-1', 'ap-east-1', 'ap-northeast-1', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2', 'ca-central-1', 'eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'me-south-1', 'sa-east-1', 'us-east-1', 'us-west-2'];
  const days = ['2026/11/17', '2026/11/18', '2026/11/19', '2026/11/20', '2026/11/21'];
  const empty = gzipSync('{"Records":[]}');
  for (const account of accounts) {
    for (const region of regions) {
      for (const day of days) {
        for (const n of [1, 2]) fake.api.putObject(BUCKET, `AWSLogs/${ORG}/${account}/CloudTrail/${region}/${day}/${account}_CloudTrail_${region}_${day.replaceAll('/', '')}T0${n}00Z_x.json.gz`, empty);
        fake.api.putObject(BUCKET, `AWSLogs/${ORG}/${account}/CloudTrail-Digest/${region}/${day}/${account}_CloudTrail-Digest_${region}_t_${region}_${day.replaceAll('/', '')}T010000Z.json.gz`, empty);
      }
    }
  }
  const chosen = [accounts[7]!, accounts[31]!];
  const run = await replay(fake, ['--trail-accounts', chosen.join(','), '--trail-regions', 'eu-west-1', '--from', '2026-11-18', '--to', '2026-11-20', `s3://${BUCKET}/`]);
  t.equal(run.stderr, '');
  t.equal(run.status, 0);
  const expected = ['ListObjectsV2 200 AWSLogs/|/'];
  for (const account of chosen) {
    for (const day of ['2026/11/18', '2026/11/19', '2026/11/20']) {
      const folder = `AWSLogs/${ORG}/${account}/CloudTrail/eu-west-1/${day}/`;
      expected.push(`ListObjectsV2 200 ${folder}|`, ...[1, 2].map((n) => `GetObject 200 ${folder}${account}_CloudTrail_eu-west-1_${day.replaceAll('/', '')}T0${n}00Z_x.json.gz`));
    }
  }
  // The decode threads fetch objects while the listing goes on: the same requests, in an order of their own.
  t.same([...requestLog(fake)].sort(), [...expected].sort(), `7 listings and 12 GetObject of ${accounts.length * regions.length * days.length * 3} objects`);
  t.match(run.stdout, /kms_exporter_aws_requests_total\{operation="ListObjectsV2",outcome="success"\} 7\n/);
  const refused = await replay(fake, ['--trail-accounts', '1111', `s3://${BUCKET}/`]);
  t.same([refused.status, refused.stderr], [2, 'kms-change-exporter: invalid --trail-accounts (KMS_EXPORTER_REPLAY_ACCOUNTS): expected comma-separated 12-digit AWS account ids, got "1111"\n']);
  const badRegion = await replay(fake, ['--trail-regions', 'eu-west-1,Mars', `s3://${BUCKET}/`]);
  t.same([badRegion.status, badRegion.stderr], [2, 'kms-change-exporter: invalid --trail-regions (KMS_EXPORTER_REPLAY_REGIONS): expected comma-separated AWS regions such as us-east-1,eu-west-1, got "Mars"\n']);
});

/**
 * The exposition without what measures a run rather than the archive: the delay histogram (this run's clock minus
 * eventTime) and the AWS calls (a resumed run lists its way back and reads the interrupted object again).
 */
const content = (exposition: string): string => exposition.split('\n').filter((line) => !line.includes('kms_exporter_event_delay_seconds') && !line.includes('kms_exporter_aws_requests_total')).join('\n');

t.test('killed with SIGKILL midway and run again with the same --manifest, the replay prints what an uninterrupted run prints', async (t) => {
  const fake = await startFakeS3({ getDelayMs: 60 });
  t.teardown(() => fake.close());
  const dir = mkdtempSync(join(tmpdir(), 'kce-resume-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // 40 log files over 2 accounts, 2 regions and 10 days; every fifth repeats a record of the one before (duplicates across files).
  const records = readdirSync(FIXTURES).filter((name) => name.endsWith('.json')).sort().map((name) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown>);
  let n = 0;
  const keys: string[] = [];
  for (const account of ['111122223333', '444455556666']) {
    for (const region of ['eu-west-1', 'us-east-1']) {
      for (let d = 10; d < 20; d++) {
        const batch = [records[n % records.length]!, records[(n + 1) % records.length]!, ...(n % 5 === 0 ? [records[(n + records.length - 1) % records.length]!] : [])];
        const key = `AWSLogs/${ORG}/${account}/CloudTrail/${region}/2026/11/${d}/${account}_CloudTrail_${region}_202611${d}T0905Z_f${n}.json.gz`;
        fake.api.putObject(BUCKET, key, gzipSync(JSON.stringify({ Records: batch })));
        keys.push(key);
        n += 2;
      }
    }
  }
  const args = ['--from', '2026-11-11', '--trail-regions', 'eu-west-1,us-east-1', `s3://${BUCKET}/AWSLogs/`];
  const once = await replay(fake, [...args, '--manifest', join(dir, 'once.json')]);
  t.equal(once.status, 0);
  t.match(once.stdout, /kms_exporter_records_total\{source="replay",result="duplicate"\} [1-9]/);
  const selected = keys.filter((key) => !key.includes('/2026/11/10/'));

  const manifest = join(dir, 'resumed.json');
  const requestsBefore = fake.api.requests().length;
  const killed = await replay(fake, [...args, '--manifest', manifest], (kill) => {
    // Midway: once the manifest says some inputs are done, and well before the last.
    const poll = setInterval(() => {
      if (!existsSync(manifest)) return;
      const done = (JSON.parse(readFileSync(manifest, 'utf8')) as { done: { through: string | null } }).done.through;
      if (done !== null && done >= selected[12]!) {
        clearInterval(poll);
        kill();
      }
    }, 20);
  });
  t.equal(killed.signal, 'SIGKILL');
  const written = JSON.parse(readFileSync(manifest, 'utf8')) as { done: { location: number; through: string }; complete: boolean };
  t.equal(written.complete, false);
  t.ok(written.done.through < selected.at(-1)!, `stopped midway, done through ${written.done.through}`);
  const readByKilled = fake.api.requests().slice(requestsBefore).filter((line) => line.startsWith('GetObject')).length;

  const mark = fake.api.requests().length;
  const resumed = await replay(fake, [...args, '--manifest', manifest]);
  t.equal(resumed.status, 0);
  t.equal(resumed.stderr, '');
  t.equal(content(resumed.stdout), content(once.stdout), 'the same exposition, byte for byte, but for the run measurements');
  const gets = fake.api.requests().slice(mark).filter((line) => line.startsWith('GetObject')).map((line) => line.split(' ')[2]!);
  t.same([...gets].sort(), selected.filter((key) => key > written.done.through).sort(), 'only the objects after the last one done are read again');
  t.ok(readByKilled + gets.length >= selected.length && readByKilled + gets.length <= selected.length + 4, `${readByKilled} read before the kill, ${gets.length} after`);

  const other = await replay(fake, ['--from', '2026-11-12', '--trail-regions', 'eu-west-1,us-east-1', `s3://${BUCKET}/AWSLogs/`, '--manifest', manifest]);
  t.same([other.status, other.stderr], [2, `kms-change-exporter: the manifest ${manifest} was written for other arguments: --from was 2026-11-11, now 2026-11-12 (run it with the same arguments, or give another --manifest)\n`]);
});
