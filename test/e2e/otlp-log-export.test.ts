// The CLI's OTLP log export end to end: the real replay process sends each KMS change to an OTLP/HTTP receiver, in protobuf and JSON.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import type { OtlpReceiver, OtlpReceiverOptions, ReceivedLogRecord } from '../support/otlp-receiver.ts';

const ROOT = join(import.meta.dirname, '..', '..');
// The npm `node` package's v24: the PATH's node may be too old to strip types.
const NODE = join(ROOT, 'node_modules/.bin/node');
const MAIN = join(ROOT, 'src/main.ts');
const FIXTURE = join(ROOT, 'test/fixtures/cloudtrail/ScheduleKeyDeletion.json');
const TRAIL = join(ROOT, 'examples/trail.jsonl.gz');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const truth = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as { records: { matched: number } };

/** The slice of a tap test the helpers need. */
interface Scope {
  teardown(fn: () => unknown): void;
}

interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the CLI asynchronously (the receiver shares this event loop, so spawnSync would deadlock),
 * with only PATH and the given variables: no OTEL_* leaks in from the test's environment.
 */
function runCli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [MAIN, ...args], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}

async function receiver(t: Scope, options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const started = await startOtlpReceiver(options);
  t.teardown(() => started.close());
  return started;
}

function tempDir(t: Scope): string {
  const dir = mkdtempSync(join(tmpdir(), 'otlp-log-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const DEFAULT_OTLP_PORT = 4318;

/**
 * Receivers on the SDK's default endpoint, localhost:4318, on both loopback families, to catch
 * an export nobody asked for; undefined when 127.0.0.1:4318 is taken (::1 is optional).
 */
async function defaultPortReceivers(t: Scope): Promise<OtlpReceiver[] | undefined> {
  const started: OtlpReceiver[] = [];
  for (const host of ['127.0.0.1', '::1']) {
    try {
      started.push(await receiver(t, { host, port: DEFAULT_OTLP_PORT }));
    } catch (error) {
      if (host === '127.0.0.1') return undefined;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT' && code !== 'EADDRINUSE') throw error;
    }
  }
  return started;
}

function countRequests(receivers: readonly OtlpReceiver[]): number {
  return receivers.reduce((sum, otlp) => sum + otlp.requests.length, 0);
}

function eventIdOf(record: ReceivedLogRecord): unknown {
  return record.attributes['aws.cloudtrail.event_id'];
}

// ScheduleKeyDeletion.json, worked out by hand from the fixture and src/record/change-log-events.ts:
// eventTime 2026-11-20T18:58:30Z; deletionDate "Dec 10, 2026 18:58:30 PM" (24-hour clock, UTC) is
// 20 days later, matching pendingWindowInDays; the key ARN comes from resources[0].ARN.
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
const ALICE = 'arn:aws:iam::111122223333:user/Alice';
/** 2026-11-20T18:58:30Z = 1795201110 s since the epoch. */
const EVENT_TIME_NS = '1795201110000000000';
const EXPECTED_BODY = `${ALICE} scheduled key ${KEY_ARN} for deletion in 20 days; findings: short_deletion_window`;
const EXPECTED_ATTRIBUTES = {
  'cloud.provider': 'aws',
  'cloud.account.id': '111122223333',
  'cloud.region': 'us-east-1',
  'aws.cloudtrail.event_id': '593a9760-34b7-4066-88ac-797fa40322b0',
  'aws.cloudtrail.event_name': 'ScheduleKeyDeletion',
  'aws.cloudtrail.event_source': 'kms.amazonaws.com',
  'aws.cloudtrail.event_time': '2026-11-20T18:58:30.000Z',
  'aws.request_id': 'bf4ffbfa-74e5-4439-808e-e3ccc8af54b2',
  'aws.kms.change.category': 'key_lifecycle',
  'aws.kms.change.risk': 'high',
  'aws.kms.change.outcome': 'success',
  'aws.kms.key.id': KEY_ID,
  'aws.kms.key.arn': KEY_ARN,
  'cloud.resource_id': KEY_ARN,
  'aws.kms.deletion_date': '2026-12-10T18:58:30.000Z',
  'aws.kms.pending_window_days': 20,
  'user.id': ALICE,
  'aws.principal.type': 'IAMUser',
  'aws.principal.arn': ALICE,
  'client.address': '192.0.2.10',
  'user_agent.original': 'AWS Internal',
  'security_rule.name': 'KMS-007',
  'security_rule.category': 'key_lifecycle',
  'security_rule.reference': 'APRA,MAS,NIST',
  'alert.severity': 'critical',
  // A list and a boolean: the OTLP array and bool values, through both protocols.
  'aws.kms.change.findings': ['short_deletion_window'],
  'aws.kms.change.finding_evidence': '[{"finding":"short_deletion_window","pendingWindowInDays":20,"minimumDays":30,"detail":"deletion scheduled with a 20-day window, below the minimum of 30"}]',
  'aws.kms.change.expected': false,
};

t.test('the receiver decodes every AnyValue kind the same from protobuf and JSON (the SDK exporters in process)', async (t) => {
  const decoded: Record<string, unknown> = {};
  for (const [protocol, Exporter] of [
    ['http/protobuf', OTLPProtoLogExporter],
    ['http/json', OTLPJsonLogExporter],
  ] as const) {
    const otlp = await receiver(t);
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'receiver-check', 'host.cpu.count': 8 }),
      processors: [new SimpleLogRecordProcessor({ exporter: new Exporter({ url: otlp.logsEndpoint }) })],
    });
    const context = trace.setSpanContext(ROOT_CONTEXT, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
    provider.getLogger('check', '9.9.9').emit({
      context,
      timestamp: new Date('2026-11-20T18:58:30.123Z'),
      observedTimestamp: new Date('2026-11-20T18:58:31Z'),
      severityNumber: 13,
      severityText: 'WARN',
      eventName: 'check.event',
      body: { text: 'hello', list: [1, 'two', false, 2.5], nested: { deep: -7 } },
      attributes: { s: 'text', i: 42, negative: -3, big: 2 ** 40, d: 0.25, b: true, strings: ['a', 'b'], ints: [1, 2] },
    });
    await provider.shutdown();
    t.equal(otlp.requests[0]?.status, 200, `${protocol}: accepted (${otlp.requests[0]?.error ?? ''})`);
    decoded[protocol] = otlp.accepted();
  }
  const expected = [
    {
      resource: { attributes: { 'service.name': 'receiver-check', 'host.cpu.count': 8 } },
      scope: { name: 'check', version: '9.9.9' },
      logRecords: [
        {
          timeUnixNano: '1795201110123000000',
          observedTimeUnixNano: '1795201111000000000',
          severityNumber: 13,
          severityText: 'WARN',
          eventName: 'check.event',
          body: { text: 'hello', list: [1, 'two', false, 2.5], nested: { deep: -7 } },
          attributes: { s: 'text', i: 42, negative: -3, big: 2 ** 40, d: 0.25, b: true, strings: ['a', 'b'], ints: [1, 2] },
          droppedAttributesCount: 0,
          flags: 1,
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
        },
      ],
    },
  ];
  t.strictSame(decoded['http/protobuf'], expected, 'protobuf');
  t.strictSame(decoded['http/json'], expected, 'json');
});

t.test('the hand-worked timestamp is the fixture eventTime in nanoseconds', async (t) => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { eventTime: string };
  t.equal(String(BigInt(Date.parse(fixture.eventTime)) * 1_000_000n), EVENT_TIME_NS);
});

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  t.test(`${protocol}: one ScheduleKeyDeletion arrives as exactly the expected log record`, async (t) => {
    const otlp = await receiver(t);
    const before = BigInt(Date.now()) * 1_000_000n;
    const result = await runCli(['replay', FIXTURE], { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: otlp.logsEndpoint, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: protocol });
    const after = BigInt(Date.now()) * 1_000_000n;
    t.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
    t.match(result.stdout, /kms_config_changes_total\{[^}]*event_name="ScheduleKeyDeletion"[^}]*\} 1\b/, 'metrics still printed');

    t.equal(otlp.requests.length, 1, 'one export request');
    const request = otlp.requests[0];
    t.equal(request?.method, 'POST');
    t.equal(request?.path, '/v1/logs');
    t.equal(request?.contentType, protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
    t.equal(request?.status, 200, `accepted (${request?.error ?? ''})`);

    const groups = otlp.accepted();
    t.equal(groups.length, 1, 'one resource/scope group');
    const group = groups[0];
    t.strictSame(group?.resource, { attributes: { 'service.name': 'kms-change-exporter', 'service.version': VERSION } }, 'resource');
    t.strictSame(group?.scope, { name: 'kms-change-exporter', version: VERSION }, 'instrumentation scope');
    t.equal(group?.logRecords.length, 1, 'one log record');

    const record = group?.logRecords[0];
    if (record === undefined) return;
    const observed = BigInt(record.observedTimeUnixNano);
    t.ok(observed >= before && observed <= after, `observedTimeUnixNano ${observed} is when the replay read the record (${before}..${after})`);
    t.strictSame(
      record,
      {
        timeUnixNano: EVENT_TIME_NS,
        observedTimeUnixNano: record.observedTimeUnixNano,
        severityNumber: 17,
        severityText: 'ERROR',
        eventName: 'aws.kms.config_change',
        body: EXPECTED_BODY,
        attributes: EXPECTED_ATTRIBUTES,
        droppedAttributesCount: 0,
        flags: 0,
        traceId: '',
        spanId: '',
      },
      'the decoded record, field by field',
    );
    // Already implied by strictSame above; this one names a missing or extra key directly when it fails.
    t.strictSame(Object.keys(record.attributes).sort(), Object.keys(EXPECTED_ATTRIBUTES).sort(), 'attribute keys');
  });
}

t.test('the example trail: every matched change is exported, the same set as --logs writes', async (t) => {
  const otlp = await receiver(t);
  const logsFile = join(tempDir(t), 'changes.jsonl');
  // gzip too, so the receiver's Content-Encoding path runs against the real exporter.
  const result = await runCli(['replay', TRAIL, '--logs', logsFile], {
    OTEL_LOGS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
  });
  t.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
  t.ok(otlp.requests.length >= 1, `${otlp.requests.length} export request(s)`);
  t.ok(
    otlp.requests.every((request) => request.status === 200 && request.contentEncoding === 'gzip' && request.contentType === 'application/x-protobuf'),
    'every request gzip protobuf and accepted',
  );

  const exported = otlp.records();
  t.equal(exported.length, truth.records.matched, 'one record per matched change');
  t.ok(
    exported.every((record) => record.eventName === 'aws.kms.config_change'),
    'every record is a config change event',
  );
  const exportedIds = exported.map(eventIdOf);
  t.equal(new Set(exportedIds).size, exportedIds.length, 'no eventID exported twice');

  const lines = readFileSync(logsFile, 'utf8').split('\n').filter((line) => line !== '');
  t.equal(lines.length, truth.records.matched, '--logs has one line per matched change');
  const fileIds = lines.map((line) => (JSON.parse(line) as { attributes: Record<string, unknown> }).attributes['aws.cloudtrail.event_id']);
  t.strictSame([...exportedIds].sort(), [...fileIds].sort(), 'the same eventIDs as --logs');
});

t.test('nothing is sent unless OTLP is asked for', async (t) => {
  t.test('OTEL_LOGS_EXPORTER=none with an endpoint set', async (t) => {
    const otlp = await receiver(t);
    const result = await runCli(['replay', FIXTURE], { OTEL_LOGS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: otlp.logsEndpoint, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
    t.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
    t.equal(otlp.requests.length, 0, 'no requests');
  });

  t.test('no OTEL variables at all', async (t) => {
    // The CLI cannot know this receiver's port; the real check is the SDK's default endpoint below.
    const otlp = await receiver(t);
    const atDefault = await defaultPortReceivers(t);
    const result = await runCli(['replay', FIXTURE], {});
    t.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
    t.equal(result.stderr, '', 'no export errors reported');
    t.equal(otlp.requests.length, 0, 'no requests');
    if (atDefault === undefined) t.comment(`port ${DEFAULT_OTLP_PORT} is busy: cannot watch the SDK's default endpoint`);
    else t.equal(countRequests(atDefault), 0, `nothing sent to the SDK's default localhost:${DEFAULT_OTLP_PORT} either`);
  });

  t.test(`control: OTEL_LOGS_EXPORTER=otlp without an endpoint sends to localhost:${DEFAULT_OTLP_PORT}`, async (t) => {
    const atDefault = await defaultPortReceivers(t);
    if (atDefault === undefined) {
      t.plan(0, `port ${DEFAULT_OTLP_PORT} is busy`);
      return;
    }
    const result = await runCli(['replay', FIXTURE], { OTEL_LOGS_EXPORTER: 'otlp' });
    t.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
    t.equal(countRequests(atDefault), 1, 'the default-port receivers would see an unwanted export');
    t.strictSame(
      atDefault.flatMap((otlp) => otlp.records()).map(eventIdOf),
      [EXPECTED_ATTRIBUTES['aws.cloudtrail.event_id']],
      'the one change',
    );
  });

  t.test('an empty OTEL_EXPORTER_OTLP_ENDPOINT counts as unset', async (t) => {
    const atDefault = await defaultPortReceivers(t);
    if (atDefault === undefined) {
      t.plan(0, `port ${DEFAULT_OTLP_PORT} is busy`);
      return;
    }
    const result = await runCli(['replay', FIXTURE], { OTEL_EXPORTER_OTLP_ENDPOINT: '' });
    t.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
    // The OTel spec: an empty value is interpreted as unset. main.ts tests `!== undefined`, so
    // `OTEL_EXPORTER_OTLP_ENDPOINT=` turns export on, and the SDK (which does treat it as
    // unset) sends to its default localhost:4318.
    t.equal(countRequests(atDefault), 0, 'nothing sent to the default endpoint');
  });
});

t.test('an unbundled protocol is a config error naming the variable', async (t) => {
  const otlp = await receiver(t);
  const result = await runCli(['replay', FIXTURE], { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: otlp.logsEndpoint, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc' });
  t.equal(result.code, 2, 'exit code 2');
  t.equal(
    result.stderr,
    'kms-change-exporter: invalid OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: expected http/protobuf or http/json (grpc is not bundled; the Collector accepts both on port 4318), got "grpc"\n',
  );
  t.equal(result.stdout, '', 'no metrics printed');
  t.equal(otlp.requests.length, 0, 'no requests');
});

t.test('a 503 on the first export is retried: every record still arrives', async (t) => {
  // No Retry-After: the exporter's own backoff (about 1 s) must fit before the process exits.
  const otlp = await receiver(t, { failFirst: 1, failStatus: 503 });
  const result = await runCli(['replay', TRAIL], { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: otlp.logsEndpoint, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' });
  t.equal(result.code, 0, `exit code (stderr: ${result.stderr})`);
  t.equal(otlp.requests[0]?.status, 503, 'the first request was refused');
  t.ok(otlp.requests.length >= 2, `the exporter tried again (${otlp.requests.length} requests)`);
  const exported = otlp.records();
  t.equal(exported.length, truth.records.matched, 'every matched change arrived');
  t.equal(new Set(exported.map(eventIdOf)).size, truth.records.matched, 'each exactly once');
});

t.test('an unreachable collector is reported on the operator log, and the replay still succeeds', async (t) => {
  // Port 9 (discard) refuses connections here; a short timeout keeps the test quick.
  const result = await runCli(['replay', FIXTURE], { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://127.0.0.1:9/v1/logs', OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: '1000' });
  t.equal(result.code, 0);
  t.match(result.stderr, /"msg":"OpenTelemetry export failed; log records dropped"/);
  t.match(result.stdout, /^kms_config_changes_total\{event_name="ScheduleKeyDeletion"/m);
});
