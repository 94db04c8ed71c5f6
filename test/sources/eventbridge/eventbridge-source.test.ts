// POST /eventbridge through app.inject, as an EventBridge API destination calls it: exact statuses, answers and counts, and the statuses EventBridge retries only for what can succeed later.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { buildService } from '../../../src/service.ts';
import { EVENTBRIDGE_MAX_BODY_BYTES, EVENTBRIDGE_MAX_LATE_COMMITS } from '../../../src/sources/eventbridge/eventbridge-source.ts';
import { DISABLE_KEY, cloudTrailRecord } from '../../support/cloudtrail-record.ts';
import { eventBridgeEvent } from '../../support/eventbridge-event.ts';
import { lines, value } from '../../support/exposition.ts';
import { inProcessService, until } from '../../support/in-process-service.ts';
import type { InProcess, InProcessOptions } from '../../support/in-process-service.ts';

const KEY = 'eventbridge-api-key-0123456789';
const T0 = Date.parse('2026-11-20T09:00:00Z');
const JSON_TYPE = 'application/json; charset=utf-8';

async function eventbridge(t: Test, raw: Record<string, unknown> = {}, options: InProcessOptions = {}): Promise<InProcess> {
  return inProcessService(t, { source: 'eventbridge', ...raw }, { env: { KMS_EXPORTER_EVENTBRIDGE_API_KEY: KEY }, now: () => T0, ...options });
}

const change = (id: string, fixture = 'DisableKey') => cloudTrailRecord(fixture, id, T0 - 2_000);
const event = (id: string, fixture = 'DisableKey') => JSON.stringify(eventBridgeEvent(change(id, fixture), { id: `bus-${id}` }));

/**
 * The headers an API destination sends (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html,
 * "Headers in requests to API destinations"), plus the connection's API key.
 */
function headersOf(options: { key?: string | null; headers?: Record<string, string> }): Record<string, string> {
  const headers: Record<string, string> = {
    'user-agent': 'Amazon/EventBridge/ApiDestinations',
    'content-type': 'application/json; charset=utf-8',
    range: 'bytes=0-1048575',
    'accept-encoding': 'gzip,deflate',
    ...options.headers,
  };
  if (options.key !== null) headers['x-api-key'] = options.key ?? KEY;
  return headers;
}

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

async function post(running: InProcess, payload: string | Buffer | undefined, options: { key?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await running.service.app.inject({ method: 'POST', url: '/eventbridge', headers: headersOf(options), ...(payload === undefined ? {} : { payload }) });
  return { status: response.statusCode, contentType: response.headers['content-type'] as string | undefined, body: response.json() };
}

const ok = (result: string): Answer => ({ status: 200, contentType: JSON_TYPE, body: { result } });

function records(counts: { matched?: number; ignored?: number; invalid?: number; duplicate?: number } = {}): string[] {
  return (['matched', 'ignored', 'invalid', 'duplicate'] as const).map((result) => `kms_exporter_records_total{source="eventbridge",result="${result}"} ${counts[result] ?? 0}`);
}

function errors(counted: Record<string, number> = {}): string[] {
  return ['unauthorized', 'too_large', 'malformed_request', 'not_committed', 'over_budget', 'commit_timeout'].map((kind) => `kms_exporter_source_errors_total{source="eventbridge",error="${kind}"} ${counted[kind] ?? 0}`);
}

const recordsOf = (body: string) => lines(body, 'kms_exporter_records_total{source="eventbridge"');
const errorsOf = (body: string) => lines(body, 'kms_exporter_source_errors_total{source="eventbridge"');
const invalidOf = (body: string) => lines(body, 'kms_exporter_invalid_records_total{source="eventbridge"').filter((line) => !line.endsWith(' 0'));

t.test('an event as an API destination sends it: 200 once counted, its delay observed; the same event again is a duplicate, other detail types are ignored', async (t) => {
  const running = await eventbridge(t);
  t.same(await post(running, event('e1')), ok('matched'));
  t.same(await post(running, event('e1')), ok('duplicate'), "EventBridge's retry (or a second rule) is counted once");
  t.same(await post(running, JSON.stringify(eventBridgeEvent(change('e2'), { detailType: 'AWS Console Signin via CloudTrail' }))), ok('ignored'));
  // An input transformer sending only the detail: the bare CloudTrail record counts the same.
  t.same(await post(running, change('e3', 'DisableKey.AccessDenied')), ok('matched'));
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 1`]);
  t.same(recordsOf(body), records({ matched: 2, duplicate: 1, ignored: 1 }));
  t.same(errorsOf(body), errors());
  t.same(lines(body, 'kms_exporter_event_delay_seconds_count{source="eventbridge"}'), ['kms_exporter_event_delay_seconds_count{source="eventbridge"} 2']);
  t.equal(value(body, 'kms_exporter_event_delay_seconds_sum{source="eventbridge"}'), 4, 'each event 2 s old when it arrived');
  t.equal(value(body, 'kms_exporter_last_event_timestamp_seconds{source="eventbridge"}'), (T0 - 2_000) / 1000);
});

t.test('a missing or wrong API key: 401 (EventBridge retries it, so a fixed key loses nothing), counted, nothing recorded, the key never logged', async (t) => {
  const running = await eventbridge(t);
  const refused = { status: 401, contentType: JSON_TYPE, body: { error: 'unauthorized', message: 'unauthorized' } };
  t.same(await post(running, event('e1'), { key: null }), refused);
  t.same(await post(running, event('e1'), { key: '' }), refused);
  t.same(await post(running, event('e1'), { key: `${KEY}x` }), refused);
  t.same(await post(running, event('e1'), { key: null, headers: { authorization: `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}` } }), refused, 'basic auth is not configured');
  const response = await running.service.app.inject({ method: 'POST', url: '/eventbridge', headers: headersOf({ key: null }), payload: event('e1') });
  t.equal(response.headers['connection'], 'close', 'the body of a refused request is not read');
  t.equal(response.headers['www-authenticate'], undefined, 'no basic challenge without basic credentials');
  const body = await running.scrape();
  t.same(recordsOf(body), records());
  t.same(errorsOf(body), errors({ unauthorized: 5 }));
  t.notOk(JSON.stringify(running.logs.lines()).includes(KEY), 'the key is never logged');
  t.same(running.logs.lines().filter((line) => line['source'] === 'eventbridge').map((line) => line.msg), Array(5).fill('no valid x-api-key header'));
});

t.test('basic auth from a file (user:password), beside an API key from another header: either is accepted; a wrong one gets 401 with the challenge', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-eb-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'basic'), 'eventbridge:pa:ss word\n');
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  const running = await eventbridge(t, { eventbridgeBasicAuthFile: join(dir, 'basic'), eventbridgeApiKeyFile: join(dir, 'key'), eventbridgeApiKeyHeader: 'X-KMS-Key' }, { env: {} });
  const basic = (pair: string) => ({ authorization: `Basic ${Buffer.from(pair).toString('base64')}` });
  t.same(await post(running, event('e1'), { key: null, headers: basic('eventbridge:pa:ss word') }), ok('matched'));
  t.same(await post(running, event('e2'), { key: null, headers: { 'x-kms-key': KEY } }), ok('matched'));
  for (const headers of [basic('eventbridge:pa:ss'), basic('other:pa:ss word'), { 'x-api-key': KEY }, {}]) {
    const response = await running.service.app.inject({ method: 'POST', url: '/eventbridge', headers: headersOf({ key: null, headers }), payload: event('e3') });
    t.equal(response.statusCode, 401, JSON.stringify(headers));
    t.equal(response.headers['www-authenticate'], 'Basic realm="kms-change-exporter", charset="UTF-8"');
  }
  const body = await running.scrape();
  t.same(recordsOf(body), records({ matched: 2 }));
  t.same(errorsOf(body), errors({ unauthorized: 4 }));
  t.same(running.logs.lines().filter((line) => line['source'] === 'eventbridge').map((line) => line.msg)[0], 'no valid x-kms-key header and no valid basic credentials');
});

t.test('an event that can never be counted: 400 (EventBridge does not retry it), counted invalid with its reason first', async (t) => {
  const running = await eventbridge(t, { maxRecordBytes: '4KiB' });
  const notJson = (() => {
    try {
      JSON.parse('{"version":"0",');
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  })();
  const cases: [string, string | undefined, string][] = [
    ['not JSON', '{"version":"0",', `counted invalid: the request body is not JSON: ${notJson}`],
    ['no body at all', undefined, 'counted invalid: the request body is not JSON: Unexpected end of JSON input'],
    ['an array', `[${event('e1')}]`, 'counted invalid: the request body is not a JSON object'],
    ['an object that is no event', '{"hello":"world"}', 'counted invalid: the event is not an EventBridge event carrying a CloudTrail record, nor a CloudTrail record'],
    ['a detail that is not an object', JSON.stringify({ ...eventBridgeEvent(change('e2')), detail: 'DisableKey' }), 'counted invalid: the event is not an EventBridge event carrying a CloudTrail record, nor a CloudTrail record'],
    ['larger than --max-record-bytes', JSON.stringify({ ...eventBridgeEvent(change('e3')), padding: 'x'.repeat(5000) }), 'counted invalid: the event is larger than 4096 bytes'],
  ];
  for (const [what, payload, message] of cases) t.same(await post(running, payload), { status: 400, contentType: JSON_TYPE, body: { result: 'invalid', message } }, what);
  const body = await running.scrape();
  t.same(recordsOf(body), records({ invalid: cases.length }));
  t.same(invalidOf(body), [
    'kms_exporter_invalid_records_total{source="eventbridge",reason="malformed_json"} 2',
    'kms_exporter_invalid_records_total{source="eventbridge",reason="not_an_object"} 1',
    'kms_exporter_invalid_records_total{source="eventbridge",reason="not_cloudtrail"} 1',
    'kms_exporter_invalid_records_total{source="eventbridge",reason="too_large"} 1',
    'kms_exporter_invalid_records_total{source="eventbridge",reason="bad_envelope"} 1',
  ]);
  t.same(errorsOf(body), errors(), 'a bad event is not a bad request');
});

t.test('a body larger than any event EventBridge sends: 413 before it is read (not retried); a Content-Type that is not a media type: 400', async (t) => {
  const running = await eventbridge(t);
  const big = JSON.stringify({ ...eventBridgeEvent(change('e1')), padding: 'x'.repeat(EVENTBRIDGE_MAX_BODY_BYTES) });
  const response = await running.service.app.inject({ method: 'POST', url: '/eventbridge', headers: headersOf({}), payload: big });
  t.same({ status: response.statusCode, body: response.json() as unknown, connection: response.headers['connection'] }, { status: 413, body: { error: 'too_large', message: `request body larger than ${EVENTBRIDGE_MAX_BODY_BYTES} bytes` }, connection: 'close' });
  const exactly = JSON.stringify({ ...eventBridgeEvent(change('e2')), padding: '' });
  const padded = exactly.replace('"padding":""', `"padding":"${'x'.repeat(EVENTBRIDGE_MAX_BODY_BYTES - Buffer.byteLength(exactly))}"`);
  t.equal(Buffer.byteLength(padded), EVENTBRIDGE_MAX_BODY_BYTES);
  t.same(await post(running, padded), ok('matched'), 'the largest body is still taken (--max-record-bytes is 1MiB by default)');
  t.same(await post(running, event('e3'), { headers: { 'content-type': 'application json' } }), { status: 400, contentType: JSON_TYPE, body: { error: 'malformed_request', message: 'Unsupported Media Type' } });
  const body = await running.scrape();
  t.same(recordsOf(body), records({ matched: 1 }));
  t.same(errorsOf(body), errors({ too_large: 1, malformed_request: 1 }));
});

t.test('503 while the state is not restored and while the checkpoint cannot be written (nothing counted); the retries are counted once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-eb-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const running = await eventbridge(t, { checkpointFile: join(dir, 'checkpoint.json') }, { start: false });
  t.same(await post(running, event('e1')), { status: 503, contentType: JSON_TYPE, body: { error: 'not_committed', message: 'restoring state; retry shortly' } });
  await running.service.start({ listen: false });
  await running.service.restored;
  t.same(await post(running, event('e1')), ok('matched'), "EventBridge's retry");
  rmSync(dir, { recursive: true, force: true });
  const cause = `ENOENT: no such file or directory, open '${join(dir, '.checkpoint.json.tmp')}'`;
  t.same(await post(running, event('e2')), { status: 503, contentType: JSON_TYPE, body: { error: 'not_committed', message: `not committed: state store unavailable: cannot write the checkpoint: ${cause}` } });
  t.same(await post(running, '[]'), { status: 503, contentType: JSON_TYPE, body: { error: 'not_committed', message: `not committed: state store unavailable: cannot write the checkpoint: ${cause}` } }, 'an invalid event too: it is counted before it is answered');
  mkdirSync(dir);
  t.same(await post(running, event('e2')), ok('matched'));
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 2`]);
  t.same(recordsOf(body), records({ matched: 2 }));
  t.same(errorsOf(body), errors({ not_committed: 3 }));
});

t.test('a commit slower than --eventbridge-answer-timeout: 503 within the timeout, the commit still lands, the retry is a duplicate: counted once', async (t) => {
  const running = await eventbridge(t, { eventbridgeAnswerTimeout: '100ms' });
  // A scrape holds the commit lock while it renders: held here for 400 ms, every commit waits behind it.
  let release: () => void = () => {};
  const held = running.service.committer.scrape(() => new Promise<void>((resolve) => (release = resolve)));
  const started = Date.now();
  t.same(await post(running, event('e1')), { status: 503, contentType: JSON_TYPE, body: { error: 'commit_timeout', message: 'not committed within 100 ms; retry' } });
  const took = Date.now() - started;
  t.ok(took >= 100 && took < 1000, `answered after ${took} ms, within EventBridge's 5 s`);
  // A full set of commits answered late: the next request is refused before its body is read.
  const late = await Promise.all(Array.from({ length: EVENTBRIDGE_MAX_LATE_COMMITS - 1 }, (_, i) => post(running, event(`late-${i}`))));
  t.same(new Set(late.map((answer) => answer.status)), new Set([503]));
  const refused = await running.service.app.inject({ method: 'POST', url: '/eventbridge', headers: headersOf({}), payload: event('e2') });
  t.same({ status: refused.statusCode, body: refused.json() as unknown, connection: refused.headers['connection'] }, { status: 503, body: { error: 'not_committed', message: 'the state store is slow; retry shortly' }, connection: 'close' });
  release();
  await held;
  await until(async () => value(await running.scrape(), 'kms_exporter_source_events_total{source="eventbridge",event="late_commit"}') === EVENTBRIDGE_MAX_LATE_COMMITS, 'the late commits to land');
  t.same(await post(running, event('e1')), ok('duplicate'), "EventBridge's retry of the first event");
  t.same(await post(running, event('e2')), ok('matched'), 'the refused one, retried');
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} ${EVENTBRIDGE_MAX_LATE_COMMITS + 1}`]);
  t.same(recordsOf(body), records({ matched: EVENTBRIDGE_MAX_LATE_COMMITS + 1, duplicate: 1 }));
  t.same(errorsOf(body), errors({ commit_timeout: EVENTBRIDGE_MAX_LATE_COMMITS, not_committed: 1 }));
});

t.test('the service will not start without the connection\'s credentials or with a bad basic file (the other settings: test/fixtures/config/eventbridge-*)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-eb-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'basic'), 'no-colon\n');
  const start = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => buildService(loadConfig({ source: 'eventbridge', ...raw }), { env, log: pino({ level: 'silent' }) });
  await t.rejects(start({}), {
    message: "invalid --eventbridge-api-key-file (KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE): the eventbridge source needs the connection's credentials: set KMS_EXPORTER_EVENTBRIDGE_API_KEY or KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH, or name a file with --eventbridge-api-key-file or --eventbridge-basic-auth-file",
  });
  await t.rejects(start({ eventbridgeBasicAuthFile: join(dir, 'basic') }), { message: 'invalid --eventbridge-basic-auth-file (KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE): expected user:password (the user may not contain a colon; the password may)' });
  await t.rejects(start({ eventbridgeApiKeyFile: join(dir, 'missing') }), { message: `invalid --eventbridge-api-key-file (KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE): cannot read ${join(dir, 'missing')}: ENOENT` });
});

t.test('beside the firehose source: both routes on one app, one in-flight body budget, each its own label', async (t) => {
  const running = await inProcessService(t, { source: 'firehose,eventbridge' }, { env: { KMS_EXPORTER_EVENTBRIDGE_API_KEY: KEY, KMS_EXPORTER_FIREHOSE_ACCESS_KEY: 'firehose-key' }, now: () => T0 });
  t.same(await post(running, event('e1')), ok('matched'));
  const data = Buffer.from(event('e1')).toString('base64');
  const firehose = await running.service.app.inject({
    method: 'POST',
    url: '/firehose',
    headers: { 'content-type': 'application/json', 'x-amz-firehose-request-id': 'r1', 'x-amz-firehose-access-key': 'firehose-key' },
    payload: JSON.stringify({ requestId: 'r1', timestamp: T0, records: [{ data }] }),
  });
  t.equal(firehose.statusCode, 200);
  t.equal((await post(running, event('e2'), { key: 'firehose-key' })).status, 401, "one source's key does not open the other");
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 1`], 'the same event by both push paths: once');
  t.same(lines(body, 'kms_exporter_records_total{source="firehose",result="duplicate"}'), ['kms_exporter_records_total{source="firehose",result="duplicate"} 1']);
  t.same(lines(body, 'kms_exporter_push_inflight_limit_bytes'), ['kms_exporter_push_inflight_limit_bytes 134217728'], 'one budget, declared once');
});
