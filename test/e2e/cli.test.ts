// The command line as a user runs it: replay counts equal ground truth in every input form; errors are clear and coded.
import t from 'tap';
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sample } from '../support/service-process.ts';
import { buildEventPattern, formatEventPattern } from '../../src/catalog/event-pattern.ts';

const ROOT = join(import.meta.dirname, '../..');
const NODE = process.execPath;
const MAIN = join(ROOT, 'src/main.ts');
const TRAIL = join(ROOT, 'examples/trail.jsonl.gz');
const truth = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as {
  totalRecords: number;
  records: { matched: number; ignored: number; duplicate: number; invalid: number };
  successfulChanges: { total: number; byEventName: Record<string, number> };
  failedChanges: { total: number };
  successfulChangesBySeries: (Record<string, string> & { count: number })[];
  failedChangesBySeries: (Record<string, string> & { count: number })[];
};

function run(args: readonly string[], options: { input?: Buffer | string; env?: Record<string, string> } = {}) {
  const result = spawnSync(NODE, [MAIN, ...args], { input: options.input, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...options.env }, cwd: ROOT });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}


function checkTruth(t: Test, body: string, form: string): void {
  t.equal(sample(body, 'kms_config_changes_total'), truth.successfulChanges.total, `${form}: successful changes`);
  for (const [eventName, count] of Object.entries(truth.successfulChanges.byEventName)) {
    t.equal(sample(body, 'kms_config_changes_total', { event_name: eventName }), count, `${form}: ${eventName}`);
  }
  for (const { count, ...labels } of truth.successfulChangesBySeries) t.equal(sample(body, 'kms_config_changes_total', labels), count, `${form}: ${JSON.stringify(labels)}`);
  t.equal(sample(body, 'kms_config_change_failures_total'), truth.failedChanges.total, `${form}: failures`);
  for (const { count, ...labels } of truth.failedChangesBySeries) t.equal(sample(body, 'kms_config_change_failures_total', labels), count, `${form}: ${JSON.stringify(labels)}`);
  t.equal(sample(body, 'kms_exporter_records_total', { result: 'matched' }), truth.records.matched, `${form}: matched`);
  t.equal(sample(body, 'kms_exporter_records_total', { result: 'duplicate' }), truth.records.duplicate, `${form}: duplicate`);
  t.equal(sample(body, 'kms_exporter_records_total', { result: 'invalid' }), 0, `${form}: invalid`);
  t.equal(sample(body, 'kms_key_pending_deletion_timestamp_seconds'), 1798044312, `${form}: the one key still pending deletion`);
}

const lines = gunzipSync(readFileSync(TRAIL)).toString('utf8').trim().split('\n');
const work = mkdtempSync(join(tmpdir(), 'kce-main-'));

t.test('replay of the example trail (gzip JSON Lines) equals the ground truth', async (t) => {
  const result = run(['replay', TRAIL]);
  t.equal(result.status, 0);
  t.equal(result.stderr, '');
  checkTruth(t, result.stdout, 'jsonl.gz');
  t.equal(sample(result.stdout, 'kms_exporter_records_total'), truth.totalRecords);
});

t.test('the same trail as CloudTrail S3 log files (gzip, several files) gives the same counts', async (t) => {
  const files: string[] = [];
  for (let i = 0; i < lines.length; i += 700) {
    const path = join(work, `111122223333_CloudTrail_us-east-1_${i}.json.gz`);
    writeFileSync(path, gzipSync(`{"Records":[${lines.slice(i, i + 700).join(',')}]}`));
    files.push(path);
  }
  const result = run(['replay', ...files]);
  t.equal(result.status, 0);
  checkTruth(t, result.stdout, 's3');
});

t.test('the same trail as CloudWatch Logs subscription payloads, from stdin', async (t) => {
  const payloads = [];
  for (let i = 0; i < lines.length; i += 250) {
    payloads.push(
      gzipSync(
        JSON.stringify({
          messageType: 'DATA_MESSAGE',
          owner: '111122223333',
          logGroup: 'aws-cloudtrail-logs-111122223333',
          logStream: '111122223333_CloudTrail_us-east-1',
          subscriptionFilters: ['kms-changes'],
          logEvents: lines.slice(i, i + 250).map((message, j) => ({ id: String(i + j), timestamp: 1, message })),
        }),
      ),
    );
  }
  payloads.splice(1, 0, gzipSync(JSON.stringify({ messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: '', timestamp: 1, message: 'CWL CONTROL MESSAGE: Checking health of destination Firehose.' }] })));
  const result = run(['replay', '-'], { input: Buffer.concat(payloads) });
  t.equal(result.status, 0);
  checkTruth(t, result.stdout, 'subscription');
});

t.test('replaying the trail twice counts each change once (eventID de-duplication)', async (t) => {
  const result = run(['replay', TRAIL, TRAIL]);
  t.equal(sample(result.stdout, 'kms_config_changes_total'), truth.successfulChanges.total);
  t.equal(sample(result.stdout, 'kms_exporter_records_total', { result: 'duplicate' }), 2 * truth.records.duplicate + truth.records.matched, 'every record of the second pass is a duplicate');
});

t.test('a bad record inside good input is counted invalid; the rest is counted', async (t) => {
  const input = [lines[0], '{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"DisableKey","eventTime":42}', '{broken', ...lines.slice(1)].join('\n');
  const result = run(['replay', '-'], { input });
  t.equal(result.status, 0);
  t.equal(sample(result.stdout, 'kms_exporter_records_total', { result: 'invalid' }), 2);
  t.equal(sample(result.stdout, 'kms_exporter_invalid_records_total', { reason: 'wrong_type' }), 1);
  t.equal(sample(result.stdout, 'kms_exporter_invalid_records_total', { reason: 'malformed_json' }), 1);
  t.equal(sample(result.stdout, 'kms_config_changes_total'), truth.successfulChanges.total);
  t.match(result.stderr, /"reason":"wrong_type".*"msg":"invalid record: DisableKey: eventTime is missing or not a timestamp"/);
});

t.test('unreadable input: a clear message, non-zero exit, the metrics of what was read', async (t) => {
  const truncated = join(work, 'truncated.jsonl.gz');
  const gz = readFileSync(TRAIL);
  writeFileSync(truncated, gz.subarray(0, Math.floor(gz.length / 2)));
  const result = run(['replay', TRAIL, join(work, 'missing.json'), truncated]);
  t.equal(result.status, 1);
  const messages = result.stderr.split('\n').filter((line) => !line.startsWith('{')).join('\n');
  t.equal(messages, `kms-change-exporter: ${join(work, 'missing.json')}: no such file\nkms-change-exporter: ${truncated}: gzip stream is truncated\n`);
  t.equal(sample(result.stdout, 'kms_config_changes_total'), truth.successfulChanges.total, 'the good file is fully counted');
  t.equal(sample(result.stdout, 'kms_exporter_invalid_records_total', { reason: 'truncated' }), 1);
});

t.test('a top-level JSON array of 60,000 records (78 MB, over the document limit) counts like the same records as an S3 log file', async (t) => {
  const array = join(work, 'array.json');
  const records = Array.from({ length: 60_000 }, (_, i) => lines[i % lines.length]);
  writeFileSync(array, `[${records.join(',')}]`);
  const s3 = join(work, 's3-60k.json');
  writeFileSync(s3, `{"Records":[${records.join(',')}]}`);
  const fromArray = run(['replay', array]);
  const fromS3 = run(['replay', s3]);
  t.equal(fromArray.status, 0);
  t.equal(sample(fromArray.stdout, 'kms_config_changes_total'), truth.successfulChanges.total);
  for (const result of ['matched', 'ignored', 'duplicate', 'invalid']) {
    t.equal(sample(fromArray.stdout, 'kms_exporter_records_total', { result }), sample(fromS3.stdout, 'kms_exporter_records_total', { result }), result);
  }
});

t.test('a UTF-8 byte-order mark before the trail loses no record', async (t) => {
  const result = run(['replay', '-'], { input: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.join('\n')}\n`)]) });
  t.equal(result.status, 0);
  checkTruth(t, result.stdout, 'BOM');
});

t.test('a damaged file counts the same as replay FILE and as cat FILE | replay -', async (t) => {
  // A first line longer than the 64 KiB reads of a pipe, cut short, then the trail.
  const damaged = join(work, 'damaged.jsonl');
  writeFileSync(damaged, `{"eventVersion":"1.08","eventName":"DisableKey","padding":"${'p'.repeat(100_000)}"\n${lines.join('\n')}\n`);
  const fromFile = run(['replay', damaged]);
  const fromStdin = run(['replay', '-'], { input: readFileSync(damaged) });
  const counts = (body: string) => ['matched', 'ignored', 'duplicate', 'invalid'].map((result) => sample(body, 'kms_exporter_records_total', { result }));
  t.same(counts(fromStdin.stdout), counts(fromFile.stdout));
  t.equal(fromStdin.status, fromFile.status);
  // The damaged line is lost, the trail after it is not.
  checkTruth(t, fromFile.stdout.replace(/(kms_exporter_records_total\{source="replay",result="invalid"\}) 1/, '$1 0'), 'damaged');
  t.equal(sample(fromFile.stdout, 'kms_exporter_invalid_records_total', { reason: 'truncated' }), 1);
});

/** Every byte of `text` a terminal prints as itself: printable ASCII, or a line end. */
const printable = (text: string) => /^[\x20-\x7e\n]*$/.test(text);

t.test('replay of binary input: one printable line per file naming it not CloudTrail, exit 1, the metrics of the good file', async (t) => {
  const binary = join(work, 'program.bin');
  // An ELF header, then bytes that are escape sequences on a terminal (ESC [, and CSI as UTF-8 C2 9B).
  writeFileSync(binary, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), Buffer.from('\x1b[2J{"Records":[\xc2\x9b31m', 'latin1'), Buffer.alloc(5000, 0xff)]));
  const result = run(['replay', binary, TRAIL, '/bin/ls']);
  t.equal(result.status, 1);
  const stderr = result.stderr.split('\n');
  t.equal(stderr[0], `kms-change-exporter: ${binary}: not CloudTrail: binary data (starting 7f 45 4c 46 02 01 01 00), not JSON Lines, a CloudTrail log file or a CloudWatch Logs subscription payload`);
  t.match(stderr[1], /^kms-change-exporter: \/bin\/ls: not CloudTrail: binary data \(starting 7f 45 4c 46 [0-9a-f ]+\), not JSON Lines/);
  t.same(stderr.slice(2), ['']);
  checkTruth(t, result.stdout, 'binary beside the trail');
});

t.test('replay of text that is not CloudTrail: printable warnings, then one line saying nothing could be read, exit 1', async (t) => {
  const text = join(work, 'passwd');
  // No control byte (that is binary), but a CSI (U+009B), a right-to-left override and a replacement character.
  writeFileSync(text, 'root:x:0:0:root:/root:/bin/bash\n{"eventVersion":"\u009b31m\u202e"\n[\ufffd]\n');
  const result = run(['replay', text]);
  t.equal(result.status, 1);
  t.ok(printable(result.stderr), 'nothing a terminal would act on');
  t.equal(result.stderr.split('\n').filter((line) => !line.startsWith('{')).join('\n'), `kms-change-exporter: ${text}: not CloudTrail: no record could be read from it (2 invalid)\n`);
  t.equal(sample(result.stdout, 'kms_exporter_records_total', { result: 'invalid' }), 2);
});

t.test('a malformed record is logged with where JSON.parse stopped, not with its bytes', async (t) => {
  const result = run(['replay', '-'], { input: `${lines[0]}\n{"eventVersion":"1.08","eventName":"DisableKey","keyId":secret-key-material}\n` });
  t.equal(result.status, 0);
  t.match(result.stderr, /"reason":"malformed_json","msg":"invalid record: Unexpected token 's' is not valid JSON"/);
  t.notMatch(result.stderr, /secret/);
});

t.test('replay of a stream prints the exposition of what it had read on SIGTERM and on SIGINT', async (t) => {
  for (const [signal, status] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    const child = spawn(NODE, [MAIN, 'replay', '-'], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The trail, then a bad line: its warning says the trail before it is counted. The pipe stays open.
    child.stdin.write(`${lines.join('\n')}\n{broken\n`);
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('"reason":"malformed_json"')) resolve();
      });
    });
    child.kill(signal);
    t.equal(await exit, status, signal);
    checkTruth(t, stdout.replace(/kms_exporter_records_total\{source="replay",result="invalid"\} 1/, 'kms_exporter_records_total{source="replay",result="invalid"} 0'), signal);
    t.equal(sample(stdout, 'kms_exporter_invalid_records_total', { reason: 'malformed_json' }), 1);
    t.match(stderr, new RegExp(`kms-change-exporter: stopped by ${signal}: the metrics are of what was read until then\n$`));
  }
});

t.test('--logs writes one JSON line per change with the documented attributes', async (t) => {
  const logs = join(work, 'events.jsonl');
  const result = run(['replay', join(ROOT, 'test/fixtures/cloudtrail/ScheduleKeyDeletion.json'), '--logs', logs]);
  t.equal(result.status, 0);
  const events = readFileSync(logs, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.equal(events.length, 1);
  const event = events[0]!;
  t.equal(event['eventName'], 'aws.kms.config_change');
  t.equal(event['severityText'], 'ERROR');
  t.equal(event['severityNumber'], 17);
  t.equal(event['timestamp'], '2026-11-20T18:58:30.000Z');
  t.match(event['body'], /^arn:aws:iam::111122223333:user\/Alice scheduled key arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]+ for deletion in \d+ days; findings: short_deletion_window$/);
  const attributes = event['attributes'] as Record<string, unknown>;
  t.match(attributes, {
    'cloud.provider': 'aws',
    'cloud.account.id': '111122223333',
    'cloud.region': 'us-east-1',
    'aws.cloudtrail.event_name': 'ScheduleKeyDeletion',
    'aws.kms.change.risk': 'high',
    'aws.kms.change.outcome': 'success',
    'aws.principal.type': 'IAMUser',
    'security_rule.name': 'KMS-007',
    'alert.severity': 'critical',
  });
  t.type(attributes['aws.cloudtrail.event_id'], 'string');
  t.type(attributes['aws.kms.deletion_date'], 'string');
});

t.test('a bad setting stops the start with a message naming the flag and variable', async (t) => {
  let result = run(['replay', TRAIL, '--label-value-limit', '0']);
  t.equal(result.status, 2);
  t.equal(result.stderr, 'kms-change-exporter: invalid --label-value-limit (KMS_EXPORTER_LABEL_VALUE_LIMIT): expected a whole number from 1 to 100000, got "0"\n');
  t.equal(result.stdout, '');
  result = run(['replay', TRAIL], { env: { KMS_EXPORTER_MAX_RECORD_BYTES: 'lots' } });
  t.equal(result.status, 2);
  t.equal(result.stderr, 'kms-change-exporter: invalid --max-record-bytes (KMS_EXPORTER_MAX_RECORD_BYTES): expected a size such as 1MiB or 65536, got "lots"\n');
  result = run(['serve', '--listen-address', 'nowhere']);
  t.equal(result.status, 2);
  t.equal(result.stderr, 'kms-change-exporter: invalid --listen-address (KMS_EXPORTER_LISTEN_ADDRESS): expected [host]:port such as :9842 or 127.0.0.1:9842, got "nowhere"\n');
  result = run(['serve', '--source', 'carrier-pigeon']);
  t.equal(result.status, 2);
  t.match(result.stderr, /^kms-change-exporter: invalid --source \(KMS_EXPORTER_SOURCE\): expected one of .*, got "carrier-pigeon"\n$/);
  result = run(['replay', TRAIL, '--logs', '-']);
  t.equal(result.status, 2);
  t.equal(result.stderr, 'kms-change-exporter: invalid --logs (KMS_EXPORTER_LOGS_FILE): replay writes metrics to stdout; give --logs a file\n');
});

t.test('--help lists every setting with its environment variable; --version prints the version', async (t) => {
  const help = run(['serve', '--help']);
  t.equal(help.status, 0);
  for (const variable of ['KMS_EXPORTER_LISTEN_ADDRESS', 'KMS_EXPORTER_SOURCE', 'KMS_EXPORTER_LABEL_KEY_ID', 'KMS_EXPORTER_DEDUPE_CAPACITY', 'KMS_EXPORTER_LOG_LEVEL']) t.match(help.stdout, variable);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(run(['--version']).stdout, `${pkg.version}\n`);
});

t.test('filter-pattern prints the pattern; iam-policy prints least privilege for the sources', async (t) => {
  const pattern = run(['filter-pattern']);
  t.equal(pattern.status, 0);
  t.match(pattern.stdout, /^\{ \$\.eventSource = "kms\.amazonaws\.com" && \$\.eventName = %\^CancelKeyDeletion\$\|.*\^UpdatePrimaryRegion\$% \|\| \$\.eventSource != "kms\.amazonaws\.com" && \$\.eventName = %\^DeleteAccountPolicy\$\|.*\^UpdateTrail\$% \}\n$/);
  t.ok(pattern.stdout.trim().length <= 1024);
  const policy = JSON.parse(run(['iam-policy', '--source', 'live-tail', '--log-group', 'org-trail', '--region', 'us-east-1', '--account', '111122223333']).stdout) as { Statement: { Action: string[]; Resource: string[] | string }[] };
  t.same(
    policy.Statement.map((s) => [s.Action, s.Resource]),
    [
      [['logs:FilterLogEvents'], ['arn:aws:logs:us-east-1:111122223333:log-group:org-trail', 'arn:aws:logs:us-east-1:111122223333:log-group:org-trail:*']],
      [['logs:StartLiveTail'], ['arn:aws:logs:us-east-1:111122223333:log-group:org-trail', 'arn:aws:logs:us-east-1:111122223333:log-group:org-trail:*']],
      [['logs:StopLiveTail'], '*'],
      [['logs:DescribeLogGroups'], ['arn:aws:logs:us-east-1:111122223333:log-group:*']],
    ],
  );
});

t.test('event-pattern prints the EventBridge pattern, one branch per line, within the size quota', async (t) => {
  const result = run(['event-pattern']);
  t.same({ status: result.status, stderr: result.stderr }, { status: 0, stderr: '' });
  t.same(JSON.parse(result.stdout), buildEventPattern(), 'the pattern the catalog derives');
  t.equal(result.stdout, `${formatEventPattern(buildEventPattern())}\n`);
  t.ok(result.stdout.trim().length <= 2048, `${result.stdout.trim().length} characters: usable with aws events put-rule as printed`);
});

/** The address a spawned `serve` logs once it listens, and its stderr so far (it keeps growing). */
function listening(child: ChildProcessWithoutNullStreams): Promise<{ readonly address: string; readonly stderr: () => string }> {
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (match !== null) resolve({ address: match[1]!, stderr: () => stderr });
    });
    child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
  });
}

t.test('serve: replays the example, answers /metrics, /-/ready, /-/healthy and /, stops on SIGTERM', async (t) => {
  const child = spawn(NODE, [MAIN, 'serve', '--source', 'replay', '--replay', TRAIL, '--listen-address', '127.0.0.1:0'], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '' } });
  const { address } = await listening(child);
  let ready = await fetch(`${address}/-/ready`);
  for (let i = 0; i < 50 && ready.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ready = await fetch(`${address}/-/ready`);
  }
  t.equal(ready.status, 200);
  t.same(await ready.json(), {
    status: 'ready',
    sources: { state: { ready: true, detail: 'in memory (no checkpoint): a restart starts from the look-back' }, replay: { ready: true, detail: 'read 1 of 1 path(s); serving its metrics until stopped' } },
  });
  const metrics = await fetch(`${address}/metrics`);
  t.equal(metrics.status, 200);
  checkTruth(t, await metrics.text(), 'serve');
  const healthy = await fetch(`${address}/-/healthy`);
  t.equal(await healthy.text(), 'kms-change-exporter is healthy.\n');
  const landing = await fetch(`${address}/`);
  t.match(await landing.text(), /<a href="metrics">Metrics<\/a>/);
  t.equal((await fetch(`${address}/nope`)).status, 404);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exit, 0);
});

t.test('switches never take the next argument; their variables take true or false', async (t) => {
  const fixture = join(ROOT, 'test/fixtures/cloudtrail/ScheduleKeyDeletion.json');
  const labelled = run(['replay', '--label-key-id', fixture]);
  t.equal(labelled.status, 0, labelled.stderr);
  t.match(labelled.stdout, /^kms_config_changes_total\{[^}]*key_id="[0-9a-f-]+"[^}]*\} 1$/m);
  const off = run(['replay', fixture], { env: { KMS_EXPORTER_LABEL_KEY_ID: 'false' } });
  t.equal(off.status, 0);
  t.notMatch(off.stdout, /^kms_config_changes_total\{[^}]*key_id=/m, 'KMS_EXPORTER_LABEL_KEY_ID=false leaves the label off');
  t.match(run(['replay', fixture], { env: { KMS_EXPORTER_LABEL_PRINCIPAL: 'true' } }).stdout, /principal="arn:aws:iam::111122223333:user\/Alice"/);
  t.same(run(['replay', fixture], { env: { KMS_EXPORTER_LABEL_KEY_ID: 'maybe' } }), { status: 2, stdout: '', stderr: 'kms-change-exporter: invalid --label-key-id (KMS_EXPORTER_LABEL_KEY_ID): expected true or false, got "maybe"\n' });
});

t.test('usage errors: exit 2 and one line, never the whole help', async (t) => {
  t.same(run(['replay', '--zzz', TRAIL]), { status: 2, stdout: '', stderr: "kms-change-exporter: unknown option '--zzz' (see kms-change-exporter --help)\n" });
  t.same(run(['replay', '--lgos', 'x', TRAIL]), { status: 2, stdout: '', stderr: "kms-change-exporter: unknown option '--lgos' (Did you mean --logs?) (see kms-change-exporter --help)\n" });
  t.same(run(['replay']), { status: 2, stdout: '', stderr: "kms-change-exporter: missing required argument 'paths' (see kms-change-exporter --help)\n" });
  t.same(run(['serve', '--listen-address']), { status: 2, stdout: '', stderr: "kms-change-exporter: option '--listen-address <host:port>' argument missing (see kms-change-exporter --help)\n" });
  t.same(run(['deploy']), { status: 2, stdout: '', stderr: "kms-change-exporter: unknown command 'deploy' (Did you mean replay?) (see kms-change-exporter --help)\n" });
  t.same(run(['replay', TRAIL, '--log-level', 'loud']), { status: 2, stdout: '', stderr: 'kms-change-exporter: invalid --log-level (KMS_EXPORTER_LOG_LEVEL): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"\n' });
  t.equal(run(['serve', '--help']).status, 0, '--help still exits 0');
});

t.test('serve cannot bind: one line naming the address and why, no stack', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const { port } = holder.address() as AddressInfo;
  const serve = (address: string) => run(['serve', '--source', 'replay', '--replay', TRAIL, '--listen-address', address]);
  t.same(serve(`127.0.0.1:${port}`), { status: 1, stdout: '', stderr: `kms-change-exporter: cannot listen on 127.0.0.1:${port}: address already in use\n` });
  // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an address of this host.
  t.same(serve('192.0.2.1:9842'), { status: 2, stdout: '', stderr: 'kms-change-exporter: cannot listen on 192.0.2.1:9842: address not available on this host\n' });
  // .invalid never resolves (RFC 2606).
  t.same(serve('exporter.invalid:9842'), { status: 2, stdout: '', stderr: 'kms-change-exporter: cannot listen on exporter.invalid:9842: host name does not resolve\n' });
});

t.test('serve without a region stops at start (exit 2) naming AWS_REGION and --region', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'kce-home-'));
  t.same(run(['serve', '--log-group', 'org-trail'], { env: { HOME: home } }), {
    status: 2,
    stdout: '',
    stderr: 'kms-change-exporter: invalid --region (AWS_REGION): the poll and live-tail sources need the region of their log groups: set AWS_REGION, give --region, or a region in the AWS profile (~/.aws/config)\n',
  });
  t.same(run(['serve', '--log-group', 'org-trail', '--region', 'narnia'], { env: { HOME: home } }), { status: 2, stdout: '', stderr: 'kms-change-exporter: invalid --region (AWS_REGION): expected an AWS region such as us-east-1 or eu-west-1, got "narnia"\n' });
});

t.test('serve without credentials: /-/ready and the error counter name them', async (t) => {
  // No keys, no profile, no instance metadata: the SDK's default chain finds nothing. The endpoint is never reached.
  const env = { PATH: process.env['PATH'] ?? '', HOME: mkdtempSync(join(tmpdir(), 'kce-home-')), AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
  const child = spawn(NODE, [MAIN, 'serve', '--log-group', 'org-trail', '--listen-address', '127.0.0.1:0'], { cwd: ROOT, env });
  t.teardown(() => child.kill('SIGKILL'));
  const { address, stderr } = await listening(child);
  let ready: { status: number; body: { sources: Record<string, { ready: boolean; detail: string }> } } = { status: 0, body: { sources: {} } };
  for (let i = 0; i < 100 && ready.body.sources['poll']?.detail.includes('credentials') !== true; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const response = await fetch(`${address}/-/ready`);
    ready = { status: response.status, body: (await response.json()) as typeof ready.body };
  }
  t.equal(ready.status, 503);
  t.same(ready.body.sources['poll'], { ready: false, detail: 'no successful poll yet: org-trail: credentials (CredentialsProviderError: Could not load credentials from any providers)' });
  const metrics = await (await fetch(`${address}/metrics`)).text();
  t.equal(sample(metrics, 'kms_exporter_source_errors_total', { source: 'poll', error: 'credentials' }), 1);
  t.equal(sample(metrics, 'kms_exporter_source_errors_total', { source: 'poll', error: 'other' }), 0);
  t.match(stderr(), /"error":"credentials".*"msg":"FilterLogEvents on org-trail failed \(credentials\): Could not load credentials from any providers; retrying next cycle"/);
});

const CANARY = 'arn:aws:kms:us-east-1:111122223333:key/0d7f1c2e-5b3a-4c8d-9e6f-1a2b3c4d5e6f';

t.test('iam-policy validates its input and never prints a wildcard policy', async (t) => {
  const ok = ['--log-group', 'org-trail', '--region', 'us-east-1', '--account', '111122223333'];
  const refused = (args: string[], message: string) => t.same(run(['iam-policy', ...args]), { status: 2, stdout: '', stderr: `kms-change-exporter: ${message}\n` }, args.join(' '));
  refused([], 'invalid --account: give the 12-digit AWS account id (a policy without one would be a wildcard)');
  refused(['--source', 'bogus', ...ok], 'invalid --source: expected one of poll, live-tail, firehose, eventbridge, replay, sqs, got "bogus"');
  refused(['--log-group', 'org-trail', '--region', 'us-east-1', '--account', 'abc'], 'invalid --account: expected a 12-digit AWS account id, got "abc"');
  refused(['--log-group', 'org-trail', '--region', 'notaregion', '--account', '111122223333'], 'invalid --region: expected an AWS region such as us-east-1 or eu-west-1, got "notaregion"');
  refused(['--log-group', 'org-trail', '--account', '111122223333'], 'invalid --region: give the AWS region, or set AWS_REGION (a policy without one would be a wildcard)');
  refused(['--region', 'us-east-1', '--account', '111122223333'], 'invalid --log-group: name the CloudTrail log groups the poll and live-tail sources read (a policy for every group would be a wildcard)');
  refused(['--source', 'replay', ...ok], 'invalid --source: replay of local files calls no AWS API: it needs no IAM policy (replay s3:// needs s3:ListBucket and s3:GetObject on the trail bucket)');
  refused(['--source', 'eventbridge', ...ok], 'invalid --source: eventbridge is pushed to by an API destination and calls no AWS API: it needs no IAM policy');
  const ownOnly = "invalid --source: firehose's policy is for the role CloudWatch Logs assumes, not the exporter's: ask for it on its own (a push-only exporter's heartbeat policy: --source replay --heartbeat-key ...)";
  refused(['--source', 'poll,firehose', ...ok], ownOnly);
  refused(['--source', 'firehose', '--heartbeat-key', CANARY, '--region', 'us-east-1', '--account', '111122223333'], ownOnly);
  refused([...ok, '--heartbeat-key', 'arn:aws:kms:us-east-1:111122223333:alias/canary'], 'invalid --heartbeat-key: expected KMS key ARNs such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, got "arn:aws:kms:us-east-1:111122223333:alias/canary"');
  const fromEnv = run(['iam-policy', '--log-group', 'org-trail', '--account', '111122223333'], { env: { AWS_REGION: 'eu-west-1' } });
  t.equal(fromEnv.status, 0, 'the region from AWS_REGION');
  t.match(fromEnv.stdout, 'arn:aws:logs:eu-west-1:111122223333:log-group:org-trail');
  const govCloud = JSON.parse(run(['iam-policy', '--log-group', 'org-trail', '--region', 'us-gov-west-1', '--account', '111122223333']).stdout) as { Statement: { Resource: string[] }[] };
  t.same(govCloud.Statement[0]!.Resource, ['arn:aws-us-gov:logs:us-gov-west-1:111122223333:log-group:org-trail', 'arn:aws-us-gov:logs:us-gov-west-1:111122223333:log-group:org-trail:*']);
});

t.test('iam-policy --heartbeat-key: kms:TagResource on the canary keys, for the heartbeat tag only', async (t) => {
  const second = 'arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab';
  const heartbeat = { Sid: 'HeartbeatTagsCanaryKeys', Effect: 'Allow', Action: ['kms:TagResource'], Resource: [CANARY, second], Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['kms-change-exporter:heartbeat'] } } };
  const withPoll = run(['iam-policy', '--log-group', 'org-trail', '--region', 'us-east-1', '--account', '111122223333', '--heartbeat-key', `${CANARY},${second}`]);
  t.equal(withPoll.status, 0, withPoll.stderr);
  t.same((JSON.parse(withPoll.stdout) as { Statement: unknown[] }).Statement.at(-1), heartbeat, 'after the poll statement');
  const pushOnly = run(['iam-policy', '--source', 'replay', '--region', 'us-east-1', '--account', '111122223333'], { env: { KMS_EXPORTER_HEARTBEAT_KEYS: `${CANARY},${second}` } });
  t.equal(pushOnly.status, 0, pushOnly.stderr);
  t.same(JSON.parse(pushOnly.stdout), { Version: '2012-10-17', Statement: [heartbeat] }, 'the keys from KMS_EXPORTER_HEARTBEAT_KEYS, alone');
});

t.test('iam-policy --source firehose: the subscription filter role may put records into the delivery stream', async (t) => {
  const result = run(['iam-policy', '--source', 'firehose', '--region', 'eu-west-1', '--account', '111122223333', '--delivery-stream', 'org-kms-changes']);
  t.equal(result.status, 0, result.stderr);
  t.same(JSON.parse(result.stdout), {
    Version: '2012-10-17',
    Statement: [{ Sid: 'SubscriptionFilterPutsIntoFirehose', Effect: 'Allow', Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'], Resource: ['arn:aws:firehose:eu-west-1:111122223333:deliverystream/org-kms-changes'] }],
  });
});

t.test('iam-policy --source sqs: receive, delete and extend on the queues the URLs name, decrypt only with the keys given', async (t) => {
  const urls = 'https://sqs.eu-west-1.amazonaws.com/111122223333/kms-changes,https://sqs.eu-west-1.amazonaws.com/444455556666/kms-changes-b';
  const result = run(['iam-policy', '--source', 'sqs', '--queue-url', urls], { env: {} });
  t.equal(result.status, 0, result.stderr);
  const receive = { Sid: 'ReceiveEventBridgeQueues', Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'], Resource: ['arn:aws:sqs:eu-west-1:111122223333:kms-changes', 'arn:aws:sqs:eu-west-1:444455556666:kms-changes-b'] };
  t.same(JSON.parse(result.stdout), { Version: '2012-10-17', Statement: [receive] }, 'account and region from the URLs, no flag needed');
  const key = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const encrypted = run(['iam-policy', '--source', 'sqs', '--queue-url', urls, '--queue-kms-key', key]);
  t.same(JSON.parse(encrypted.stdout), { Version: '2012-10-17', Statement: [receive, { Sid: 'DecryptEventBridgeQueues', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [key] }] });
  const china = JSON.parse(run(['iam-policy', '--source', 'sqs', '--queue-url', 'https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q']).stdout) as { Statement: { Resource: string[] }[] };
  t.same(china.Statement[0]!.Resource, ['arn:aws-cn:sqs:cn-north-1:111122223333:q']);
  const refused = (args: string[], message: string) => t.same(run(['iam-policy', '--source', 'sqs', ...args], { env: {} }), { status: 2, stdout: '', stderr: `kms-change-exporter: ${message}\n` }, args.join(' '));
  refused([], 'invalid --queue-url: name the SQS queues the sqs source receives from (a policy for every queue would be a wildcard)');
  refused(['--queue-url', 'https://sqs.eu-west-1.amazonaws.com/kms-changes'], 'invalid --queue-url: expected the path /ACCOUNT/QUEUE-NAME (a 12-digit account, a name of 1 to 80 letters, digits, \'-\', \'_\'), got "/kms-changes"');
  refused(['--queue-url', 'http://127.0.0.1:4566/111122223333/q'], 'invalid --region: give the AWS region, or set AWS_REGION (a policy without one would be a wildcard)');
  refused(['--queue-url', urls, '--queue-kms-key', 'alias/aws/sqs'], 'invalid --queue-kms-key: expected a KMS key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, got "alias/aws/sqs"');
});

t.test('a failed ScheduleKeyDeletion and a multi-Region primary name the window the request asked for', async (t) => {
  const logs = join(work, 'deletions.jsonl');
  const fixtures = ['ScheduleKeyDeletion.AccessDenied.json', 'ScheduleKeyDeletion.multi-region-primary.json'].map((name) => join(ROOT, 'test/fixtures/cloudtrail', name));
  t.equal(run(['replay', ...fixtures, '--logs', logs]).status, 0);
  const events = readFileSync(logs, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { body: string; attributes: Record<string, unknown> });
  t.same(
    events.map((event) => [event.body, event.attributes['aws.kms.pending_window_days']]),
    [
      ['arn:aws:sts::444455556666:assumed-role/Developer/dave failed (AccessDenied): scheduled key arn:aws:kms:eu-west-1:444455556666:key/0987dcba-09fe-87dc-65ba-ab0987654321 for deletion in 7 days; findings: short_deletion_window', 7],
      ['arn:aws:iam::111122223333:user/Alice scheduled key arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab for deletion in 30 days', 30],
    ],
  );
});

t.test('an AWS service event names the service, and gives no client.address that is not an address', async (t) => {
  const logs = join(work, 'service-events.jsonl');
  const result = run(['replay', join(ROOT, 'test/fixtures/cloudtrail/DeleteExpiredKeyMaterial.json'), '--logs', logs, '--label-principal']);
  t.equal(result.status, 0);
  t.match(result.stdout, /^kms_config_changes_total\{[^}]*principal_type="AWSService",expected="false",principal="kms\.amazonaws\.com"\} 1$/m);
  const event = JSON.parse(readFileSync(logs, 'utf8')) as { body: string; attributes: Record<string, unknown> };
  t.equal(event.body, 'kms.amazonaws.com deleted the expired key material of key arn:aws:kms:us-east-1:111122223333:key/6f8b2a41-3c7d-4e9a-b1f0-2d5c8e7a9b34');
  t.equal(event.attributes['aws.principal.arn'], 'kms.amazonaws.com');
  t.equal(event.attributes['user.id'], 'kms.amazonaws.com');
  t.notOk('client.address' in event.attributes, 'sourceIPAddress "AWS Internal" is not an address');
});

t.test('OTEL_LOGS_EXPORTER=console writes to stderr: replay\'s stdout stays the exposition', async (t) => {
  const result = run(['replay', join(ROOT, 'test/fixtures/cloudtrail/ScheduleKeyDeletion.json')], { env: { OTEL_LOGS_EXPORTER: 'console' } });
  t.equal(result.status, 0);
  t.same(result.stdout.split('\n').filter((line) => line !== '' && !/^(# (HELP|TYPE) )?[a-z_]+/.test(line)), [], 'every stdout line is exposition');
  t.notMatch(result.stdout, /severityText/);
  t.match(result.stderr, /severityText: 'ERROR'/);
  t.match(result.stderr, /eventName: 'aws\.kms\.config_change'/);
});
