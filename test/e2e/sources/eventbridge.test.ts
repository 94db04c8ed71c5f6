// The eventbridge source run as users run it: events POSTed as an API destination sends them are on /metrics as soon as they are answered, and counted once when the CloudWatch Logs poll brings the same change.
import t from 'tap';
import type { Test } from 'tap';
import { request } from 'node:http';
import { startFakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs/index.ts';
import type { FakeCloudWatchLogs } from '../../support/fake-cloudwatch-logs/index.ts';
import { cloudTrailRecord } from '../../support/cloudtrail-record.ts';
import { EVENTBRIDGE_MAX_BODY_BYTES } from '../../../src/sources/eventbridge/eventbridge-source.ts';
import { eventBridgeEvent } from '../../support/eventbridge-event.ts';
import { rawRequest } from '../../support/raw-http.ts';
import { eventually, sample, startService } from '../../support/service-process.ts';
import type { ServiceProcess } from '../../support/service-process.ts';

const KEY = 'e2e-eventbridge-key-0123456789abcdef';
const GROUP = 'aws-cloudtrail-logs-111122223333';

interface Answer {
  readonly status: number;
  readonly body: unknown;
  /** From the first byte sent to the last byte of the answer. */
  readonly ms: number;
}

/**
 * One POST with exactly the headers an API destination sends
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html, "Headers in requests to API
 * destinations": User-Agent, Content-Type, Range, Accept-Encoding, Connection: close, Content-Length, Host) and the
 * connection's API key. A new connection each time, as EventBridge closes it.
 */
function postEvent(address: string, event: unknown, key = KEY): Promise<Answer> {
  const body = Buffer.from(JSON.stringify(event));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${address}/eventbridge`, {
      method: 'POST',
      headers: {
        'user-agent': 'Amazon/EventBridge/ApiDestinations',
        'content-type': 'application/json; charset=utf-8',
        range: 'bytes=0-1048575',
        'accept-encoding': 'gzip,deflate',
        connection: 'close',
        'content-length': String(body.length),
        'x-api-key': key,
      },
      timeout: 5_000,
    });
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown, ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s: EventBridge would have timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function service(t: Test, args: readonly string[], env: Record<string, string> = {}): Promise<ServiceProcess> {
  const running = await startService(['--source', 'eventbridge', ...args], { KMS_EXPORTER_EVENTBRIDGE_API_KEY: KEY, ...env });
  t.teardown(() => running.kill());
  await eventually(async () => (await fetch(`${running.address}/-/ready`)).status === 200, 10_000);
  return running;
}

t.test('each event is on /metrics in the scrape right after its 200: the answer comes after the commit, well within 5 s', async (t) => {
  const running = await service(t, []);
  const times: number[] = [];
  const events = 25;
  for (let i = 0; i < events; i++) {
    const record = cloudTrailRecord('DisableKey', `e2e-${i}`, Date.now());
    const answer = await postEvent(running.address, eventBridgeEvent(record, { id: `bus-${i}` }));
    t.same({ status: answer.status, body: answer.body }, { status: 200, body: { result: 'matched' } }, `event ${i}`);
    times.push(answer.ms);
    // No waiting: what was answered 200 is counted.
    const body = await running.metrics();
    t.equal(sample(body, 'kms_config_changes_total', { event_name: 'DisableKey' }), i + 1, `counted ${i + 1} right after the answer`);
  }
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'eventbridge', result: 'matched' }), events);
  t.equal(sample(body, 'kms_exporter_event_delay_seconds_count', { source: 'eventbridge' }), events, 'each change observed in the delay histogram');
  // eventTime has whole seconds, so a delay is the delivery plus up to 1 s; the histogram's buckets are 1, 5, 15 s...
  t.equal(sample(body, 'kms_exporter_event_delay_seconds_bucket', { source: 'eventbridge', le: '5' }), events, 'every delay in the first buckets (under 5 s)');
  t.ok(sample(body, 'kms_exporter_event_delay_seconds_sum', { source: 'eventbridge' }) < events * 1.5, 'on average under 1.5 s');
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)]!;
  const max = times[times.length - 1]!;
  t.ok(max < 1_000, `answers within a second (EventBridge waits 5 s): median ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  t.comment(`POST /eventbridge to 200, ${events} events on a fresh connection each: median ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  t.equal((await postEvent(running.address, eventBridgeEvent(cloudTrailRecord('DisableKey', 'e2e-x', Date.now())), 'wrong')).status, 401);
});

t.test('the same change by an API destination and by the CloudWatch Logs poll is counted once, whichever comes first', async (t) => {
  const fake: FakeCloudWatchLogs = await startFakeCloudWatchLogs({ seed: 11 });
  t.teardown(() => fake.close());
  fake.api.createLogGroup(GROUP);
  const now = Date.now();
  const first = cloudTrailRecord('DisableKey', 'both-paths-1', now - 60_000);
  const second = cloudTrailRecord('DisableKey', 'both-paths-2', now - 30_000);
  // The first change is in the log group before the service starts: the poll counts it, then EventBridge brings it.
  fake.api.putLogEvents(GROUP, '111122223333_CloudTrail_us-east-1', [{ timestamp: now - 60_000, message: first }]);
  const running = await service(t, ['--source', 'eventbridge,poll', '--log-group', GROUP, '--poll-interval', '1s', '--lookback', '1h'], {
    AWS_ENDPOINT_URL: fake.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
  });
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_exporter_records_total', { source: 'poll', result: 'matched' }) === 1, 15_000), 'the poll counted the first change');
  t.same((await postEvent(running.address, eventBridgeEvent(first, { id: 'bus-1' }))).body, { result: 'duplicate' });
  // The second reaches EventBridge first (seconds), the log group later (minutes, in AWS).
  t.same((await postEvent(running.address, eventBridgeEvent(second, { id: 'bus-2' }))).body, { result: 'matched' });
  fake.api.putLogEvents(GROUP, '111122223333_CloudTrail_us-east-1', [{ timestamp: now - 30_000, message: second }]);
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_exporter_records_total', { source: 'poll', result: 'duplicate' }) === 1, 15_000), 'the poll found the second already counted');
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_changes_total', { event_name: 'DisableKey' }), 2, 'two changes, each once');
  t.same(
    ['matched', 'duplicate'].map((result) => [sample(body, 'kms_exporter_records_total', { source: 'eventbridge', result }), sample(body, 'kms_exporter_records_total', { source: 'poll', result })]),
    [
      [1, 1],
      [1, 1],
    ],
  );
});

t.test('hostile senders: without the key a 10 MiB body is never read (401 first, connection closed); a chunked body past 264 KiB is cut off with 413; nothing stays held', async (t) => {
  const running = await service(t, []);
  const MiB = 1024 * 1024;
  const head = (headers: string) => `POST /eventbridge HTTP/1.1\r\nHost: exporter\r\nContent-Type: application/json; charset=utf-8\r\n${headers}\r\n`;
  const unauthenticated = await rawRequest(running.address, head(`Content-Length: ${10 * MiB}\r\n`));
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  for (let i = 0; i < 160 && (await unauthenticated.write(chunk)); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  const refused = await unauthenticated.answer;
  t.same({ status: refused?.status, connection: refused?.headers['connection'], body: JSON.parse(refused?.body ?? '{}') as unknown }, { status: 401, connection: 'close', body: { error: 'unauthorized', message: 'unauthorized' } });
  t.ok((unauthenticated.sentAtAnswer() ?? Infinity) < 10 * MiB, `answered after ${unauthenticated.sentAtAnswer()} of ${10 * MiB} body bytes`);
  await unauthenticated.closed;

  const chunked = await rawRequest(running.address, head(`x-api-key: ${KEY}\r\nTransfer-Encoding: chunked\r\n`));
  const piece = Buffer.alloc(100 * 1024, 0x20);
  for (let i = 0; i < 8; i++) if (!(await chunked.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])))) break;
  const cut = await chunked.answer;
  t.same({ status: cut?.status, body: JSON.parse(cut?.body ?? '{}') as unknown }, { status: 413, body: { error: 'too_large', message: `request body larger than ${EVENTBRIDGE_MAX_BODY_BYTES} bytes` } });
  await chunked.closed;
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_exporter_push_inflight_bytes') === 0, 5_000), 'the in-flight body budget is back to 0');
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'eventbridge', error: 'unauthorized' }), 1);
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'eventbridge', error: 'too_large' }), 1);
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'eventbridge' }), 0, 'nothing of either was counted as a record');
});
