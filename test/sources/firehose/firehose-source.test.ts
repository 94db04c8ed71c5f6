// POST /firehose through app.inject, case by case of the Firehose HTTP endpoint delivery protocol: exact statuses, answer bodies and counts.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DISABLE_KEY, cloudTrailRecord } from '../../support/cloudtrail-record.ts';
import { eventBridgeEvent } from '../../support/eventbridge-event.ts';
import { lines, value } from '../../support/exposition.ts';
import { inProcessService } from '../../support/in-process-service.ts';
import type { InProcess, InProcessOptions } from '../../support/in-process-service.ts';

const KEY = 'firehose-access-key-0123456789';
const T0 = Date.parse('2026-11-20T09:00:00Z');
const DISABLE_KEY_DENIED = 'kms_config_change_failures_total{event_name="DisableKey",category="key_lifecycle",risk="high",aws_account_id="444455556666",aws_region="eu-west-1",principal_type="AssumedRole",expected="false",error_code="AccessDenied"}';

async function firehose(t: Test, raw: Record<string, unknown> = {}, options: InProcessOptions = {}): Promise<InProcess> {
  return inProcessService(t, { source: 'firehose', ...raw }, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY }, now: () => T0, ...options });
}

/** A CloudWatch Logs subscription payload, gzip-compressed and base64-encoded as a Firehose record's data. */
function subscriptionRecord(messages: readonly string[], messageType = 'DATA_MESSAGE'): string {
  const payload = {
    messageType,
    owner: '111122223333',
    logGroup: 'aws-cloudtrail-logs-111122223333',
    logStream: '111122223333_CloudTrail_us-east-1',
    subscriptionFilters: ['kms-changes'],
    logEvents: messages.map((message, i) => ({ id: `${37_000_000_000_000 + i}`, timestamp: T0 - 60_000, message })),
  };
  return gzipSync(JSON.stringify(payload)).toString('base64');
}

const change = (id: string, fixture = 'DisableKey') => cloudTrailRecord(fixture, id, T0 - 60_000);

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  /** The answer with its timestamp checked (a number, now) and set to 0, so the rest compares exactly. */
  readonly body: Record<string, unknown>;
}

async function post(running: InProcess, records: readonly unknown[], options: { requestId?: string; key?: string | null; gzip?: boolean; raw?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const requestId = options.requestId ?? 'a7d2e8c4-5b1f-4e9a-9c3d-2f6b8a1e4d70';
  let payload: Buffer = Buffer.from(options.raw ?? JSON.stringify({ requestId, timestamp: T0, records }));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amz-firehose-protocol-version': '1.0',
    'x-amz-firehose-request-id': requestId,
    'x-amz-firehose-source-arn': 'arn:aws:firehose:us-east-1:111122223333:deliverystream/kms-changes',
    ...options.headers,
  };
  if (options.key !== null) headers['x-amz-firehose-access-key'] = options.key ?? KEY;
  if (options.gzip === true) {
    payload = gzipSync(payload);
    headers['content-encoding'] = 'gzip';
  }
  const before = Date.now();
  const response = await running.service.app.inject({ method: 'POST', url: '/firehose', headers, payload });
  const body = response.json() as Record<string, unknown>;
  const timestamp = body['timestamp'];
  if (typeof timestamp !== 'number' || timestamp < before || timestamp > Date.now()) throw new Error(`the answer's timestamp is not the time of answering: ${String(timestamp)}`);
  return { status: response.statusCode, contentType: response.headers['content-type'] as string | undefined, body: { ...body, timestamp: 0 } };
}

function errorsOf(body: string): string[] {
  return lines(body, 'kms_exporter_source_errors_total{source="firehose"');
}

function errors(counted: Record<string, number> = {}): string[] {
  return ['unauthorized', 'forbidden', 'too_large', 'malformed_request', 'not_committed', 'over_budget'].map((kind) => `kms_exporter_source_errors_total{source="firehose",error="${kind}"} ${counted[kind] ?? 0}`);
}

function recordsOf(body: string): string[] {
  return lines(body, 'kms_exporter_records_total{source="firehose"');
}

function records(counts: { matched?: number; ignored?: number; invalid?: number; duplicate?: number } = {}): string[] {
  return (['matched', 'ignored', 'invalid', 'duplicate'] as const).map((result) => `kms_exporter_records_total{source="firehose",result="${result}"} ${counts[result] ?? 0}`);
}

/** The invalid-record series that are not 0. */
function invalidOf(body: string): string[] {
  return lines(body, 'kms_exporter_invalid_records_total{source="firehose"').filter((line) => !line.endsWith(' 0'));
}

t.test("AWS's documented example request: 200 with the same requestId and a timestamp, nothing else; its plain-text records are invalid", async (t) => {
  const running = await firehose(t, {}, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: 'my-access-key' } });
  // The request of the Firehose developer guide's "HTTP endpoint delivery request and response specifications", headers and body.
  const response = await running.service.app.inject({
    method: 'POST',
    url: '/firehose',
    headers: {
      'Content-Type': 'application/json',
      'X-Amz-Firehose-Protocol-Version': '1.0',
      'X-Amz-Firehose-Request-Id': 'ed4acda5-034f-9f42-bba1-f29aea6d7d8f',
      'X-Amz-Firehose-Source-Arn': 'arn:aws:firehose:us-east-1:123456789:deliverystream/testStream',
      'X-Amz-Firehose-Access-Key': 'my-access-key',
      'X-Amz-Firehose-Common-Attributes': '{"commonAttributes":{"param1":"val1", "param2":"val2"}}',
    },
    payload: '{\n  "requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",\n  "timestamp": 1578090901599,\n  "records": [\n    {\n      "data": "aGVsbG8="\n    },\n    {\n      "data": "aGVsbG8gd29ybGQ="\n    }\n  ]\n}',
  });
  t.equal(response.statusCode, 200);
  t.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  const answer = response.json() as Record<string, unknown>;
  t.same(Object.keys(answer), ['requestId', 'timestamp']);
  t.equal(answer['requestId'], 'ed4acda5-034f-9f42-bba1-f29aea6d7d8f');
  t.type(answer['timestamp'], 'number');
  const body = await running.scrape();
  // "hello" and "hello world" are not the gzip subscription payloads CloudWatch Logs sends.
  t.same(invalidOf(body), ['kms_exporter_invalid_records_total{source="firehose",reason="bad_gzip"} 2']);
  t.same(recordsOf(body), records({ invalid: 2 }));
  t.same(errorsOf(body), errors());
});

t.test('subscription payloads in a plain and a gzip body, with a control message among them: exact counts', async (t) => {
  const running = await firehose(t);
  const control = subscriptionRecord(['CWL CONTROL MESSAGE: Checking health of destination Firehose.'], 'CONTROL_MESSAGE');
  const plain = await post(running, [{ data: subscriptionRecord([change('e1'), change('e2')]) }, { data: control }], { requestId: 'plain' });
  t.same(plain, { status: 200, contentType: 'application/json; charset=utf-8', body: { requestId: 'plain', timestamp: 0 } });
  const gzip = await post(running, [{ data: subscriptionRecord([change('e3'), change('e4', 'DisableKey.AccessDenied')]) }], { requestId: 'gzip', gzip: true });
  t.same(gzip, { status: 200, contentType: 'application/json; charset=utf-8', body: { requestId: 'gzip', timestamp: 0 } });
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 3`]);
  t.same(lines(body, 'kms_config_change_failures_total'), [`${DISABLE_KEY_DENIED} 1`]);
  t.same(recordsOf(body), records({ matched: 4 }), 'the control message is not a record');
  t.same(invalidOf(body), []);
});

t.test('a missing or wrong access key: 401 and 403 with the error body, counted, nothing recorded, the key never logged', async (t) => {
  const running = await firehose(t);
  const batch = [{ data: subscriptionRecord([change('e1')]) }];
  t.same(await post(running, batch, { key: null, requestId: 'r-missing' }), { status: 401, contentType: 'application/json; charset=utf-8', body: { requestId: 'r-missing', timestamp: 0, errorMessage: 'missing access key' } });
  t.same(await post(running, batch, { key: '', requestId: 'r-empty' }), { status: 401, contentType: 'application/json; charset=utf-8', body: { requestId: 'r-empty', timestamp: 0, errorMessage: 'missing access key' } });
  t.same(await post(running, batch, { key: `${KEY}x`, requestId: 'r-wrong' }), { status: 403, contentType: 'application/json; charset=utf-8', body: { requestId: 'r-wrong', timestamp: 0, errorMessage: 'invalid access key' } });
  const body = await running.scrape();
  t.same(recordsOf(body), records());
  t.same(errorsOf(body), errors({ unauthorized: 2, forbidden: 1 }));
  const log = JSON.stringify(running.logs.lines());
  t.notOk(log.includes(KEY), 'neither the key');
  t.same(running.logs.lines().filter((line) => line['source'] === 'firehose').map((line) => line.msg), ['no X-Amz-Firehose-Access-Key', 'no X-Amz-Firehose-Access-Key', 'wrong X-Amz-Firehose-Access-Key']);
});

t.test('the access key can come from a file (a mounted Kubernetes secret), its final newline dropped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-fh-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  const running = await firehose(t, { firehoseAccessKeyFile: join(dir, 'key') }, { env: {} });
  t.equal((await post(running, [], { requestId: 'good' })).status, 200);
  t.equal((await post(running, [], { requestId: 'with-newline', key: `${KEY}\n` })).status, 403);
});

t.test('503 while the state is not restored (nothing counted, so the retry will be), then 200', async (t) => {
  const running = await firehose(t, {}, { start: false });
  const batch = [{ data: subscriptionRecord([change('e1')]) }];
  t.same(await post(running, batch, { requestId: 'early' }), { status: 503, contentType: 'application/json; charset=utf-8', body: { requestId: 'early', timestamp: 0, errorMessage: 'restoring state; retry shortly' } });
  await running.service.start({ listen: false });
  await running.service.restored;
  t.same(await post(running, batch, { requestId: 'early' }), { status: 200, contentType: 'application/json; charset=utf-8', body: { requestId: 'early', timestamp: 0 } }, "Firehose's retry");
  const body = await running.scrape();
  t.same(recordsOf(body), records({ matched: 1 }));
  t.same(errorsOf(body), errors({ not_committed: 1 }));
  t.equal(value(body, 'kms_exporter_source_events_total{source="firehose",event="retried_request"}'), 0, 'the first attempt was not delivered: its retry is new');
});

t.test('503 when the checkpoint cannot be written; the retry is counted once the directory is back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-fh-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const running = await firehose(t, { checkpointFile: join(dir, 'checkpoint.json') });
  const batch = [{ data: subscriptionRecord([change('e1'), change('e2')]) }];
  rmSync(dir, { recursive: true, force: true });
  const cause = `ENOENT: no such file or directory, open '${join(dir, '.checkpoint.json.tmp')}'`;
  t.same(await post(running, batch, { requestId: 'r1' }), { status: 503, contentType: 'application/json; charset=utf-8', body: { requestId: 'r1', timestamp: 0, errorMessage: `not committed: state store unavailable: cannot write the checkpoint: ${cause}` } });
  t.same(recordsOf(await running.scrape()), records(), 'nothing of the refused request is counted');
  mkdirSync(dir);
  t.same(await post(running, batch, { requestId: 'r1' }), { status: 200, contentType: 'application/json; charset=utf-8', body: { requestId: 'r1', timestamp: 0 } });
  const body = await running.scrape();
  t.same(recordsOf(body), records({ matched: 2 }));
  t.same(errorsOf(body), errors({ not_committed: 1 }));
  t.equal(value(body, 'kms_exporter_source_events_total{source="firehose",event="retried_request"}'), 0);
});

t.test('permanent failures get 413 with the exact errorMessage, and are counted', async (t) => {
  const running = await firehose(t, { firehoseMaxBody: '64KiB' });
  const notJson = (() => {
    try {
      JSON.parse('not json');
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  })();
  const longId = 'r'.repeat(257);
  const cases: [string, Parameters<typeof post>[2], string, string][] = [
    ['not JSON', { raw: 'not json', requestId: 'hdr' }, 'hdr', `malformed request: body is not JSON: ${notJson}`],
    ['an array', { raw: '[1,2]', requestId: 'hdr' }, 'hdr', 'malformed request: body is not a JSON object'],
    ['no requestId', { raw: '{"records":[]}', requestId: 'hdr' }, 'hdr', 'malformed request: requestId is missing, empty or not a string'],
    ['an empty requestId', { raw: '{"requestId":"","timestamp":1,"records":[]}', requestId: '' }, '', 'malformed request: requestId is missing, empty or not a string'],
    ['a requestId that is not a string', { raw: '{"requestId":7,"records":[]}', requestId: 'hdr' }, 'hdr', 'malformed request: requestId is missing, empty or not a string'],
    ['a requestId of 257 characters', { raw: JSON.stringify({ requestId: longId, records: [] }), requestId: longId }, longId, 'malformed request: requestId is longer than 256 characters'],
    ['records not an array', { raw: '{"requestId":"x","records":"nope"}', requestId: 'hdr' }, 'x', 'malformed request: records is missing or not an array'],
    ['more records than Firehose sends', { raw: JSON.stringify({ requestId: 'x', records: Array(10_001).fill(0) }), requestId: 'hdr' }, 'x', "malformed request: records holds 10001 entries, more than Firehose's 10000"],
    ['gzip that is not', { raw: 'not gzip', headers: { 'content-encoding': 'gzip' }, requestId: 'hdr' }, 'hdr', 'Content-Encoding is gzip but the body is not valid gzip'],
  ];
  for (const [what, options, requestId, errorMessage] of cases) {
    t.same(await post(running, [], options), { status: 413, contentType: 'application/json; charset=utf-8', body: { requestId, timestamp: 0, errorMessage } }, what);
  }
  const large = { status: 413, contentType: 'application/json; charset=utf-8' };
  t.same(await post(running, [{ data: 'A'.repeat(70 * 1024) }], { requestId: 'big' }), { ...large, body: { requestId: 'big', timestamp: 0, errorMessage: 'request body larger than 65536 bytes' } }, 'a body over --firehose-max-body');
  t.same(await post(running, [], { raw: ' '.repeat(1024 * 1024), gzip: true, requestId: 'bomb' }), { ...large, body: { requestId: 'bomb', timestamp: 0, errorMessage: 'request body larger than 65536 bytes once decompressed' } }, 'a gzip body that inflates past it');
  t.same(await post(running, [], { raw: JSON.stringify({ requestId: 'r'.repeat(256), records: [] }), requestId: 'r'.repeat(256) }), { status: 200, contentType: 'application/json; charset=utf-8', body: { requestId: 'r'.repeat(256), timestamp: 0 } }, '256 characters is still an id');
  const body = await running.scrape();
  t.same(errorsOf(body), errors({ malformed_request: cases.length, too_large: 2 }));
  t.same(recordsOf(body), records());
});

t.test('a POST without a body (no Content-Type either) is a malformed request: 413, counted, not a 500', async (t) => {
  const running = await firehose(t);
  const response = await running.service.app.inject({ method: 'POST', url: '/firehose', headers: { 'x-amz-firehose-access-key': KEY, 'x-amz-firehose-request-id': 'empty' } });
  t.equal(response.statusCode, 413, 'a permanent failure: a sender must not retry it forever');
  t.same({ ...(response.json() as object), timestamp: 0 }, { requestId: 'empty', timestamp: 0, errorMessage: 'malformed request: body is not JSON: Unexpected end of JSON input' });
  t.same(errorsOf(await running.scrape()), errors({ malformed_request: 1 }));
});

t.test('a retried request id is acknowledged and counted retried_request, not recounted; the same records under another id are duplicates', async (t) => {
  const running = await firehose(t);
  const batch = [{ data: subscriptionRecord([change('e1'), change('e2')]) }];
  const ok = (requestId: string) => ({ status: 200, contentType: 'application/json; charset=utf-8', body: { requestId, timestamp: 0 } });
  t.same(await post(running, batch, { requestId: 'same' }), ok('same'));
  t.same(await post(running, batch, { requestId: 'same' }), ok('same'), 'the retry');
  t.same(await post(running, batch, { requestId: 'other' }), ok('other'), 'a new request id with the same records');
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 2`]);
  t.same(recordsOf(body), records({ matched: 2, duplicate: 2 }), 'the retry is not read again; the other request is, and de-duplicated by eventID');
  t.same(lines(body, 'kms_exporter_source_events_total{source="firehose"'), ['kms_exporter_source_events_total{source="firehose",event="retried_request"} 1']);
});

t.test('good and bad records in one request: 200, the good ones counted, each bad one invalid with its reason', async (t) => {
  const running = await firehose(t, { firehoseMaxBody: '64KiB' });
  const gz = (text: string) => gzipSync(text).toString('base64');
  const truncated = Buffer.from(subscriptionRecord(['x']), 'base64').subarray(0, 15).toString('base64');
  const response = await post(running, [
    { data: subscriptionRecord([change('e1')]) },
    { data: '!!not base64!!' },
    { data: truncated },
    { data: Buffer.from('{"messageType":"DATA_MESSAGE","logEvents":[]}').toString('base64') },
    { data: gz('{"messageType":"DATA_MESSAGE","logEvents":[{"message":42}]}') },
    { data: gz('{not json') },
    { data: gz('[]') },
    { data: gz('{"messageType":"SOMETHING_ELSE","logEvents":[]}') },
    // A few hundred bytes here, more than --firehose-max-body once inflated: a bomb inside one record.
    { data: gz(JSON.stringify({ messageType: 'DATA_MESSAGE', logEvents: [{ message: ' '.repeat(100 * 1024) }] })) },
    { nodata: true },
    7,
  ]);
  t.same(response, { status: 200, contentType: 'application/json; charset=utf-8', body: { requestId: 'a7d2e8c4-5b1f-4e9a-9c3d-2f6b8a1e4d70', timestamp: 0 } });
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 1`]);
  t.same(invalidOf(body), [
    'kms_exporter_invalid_records_total{source="firehose",reason="malformed_json"} 1',
    'kms_exporter_invalid_records_total{source="firehose",reason="wrong_type"} 1',
    'kms_exporter_invalid_records_total{source="firehose",reason="too_large"} 1',
    'kms_exporter_invalid_records_total{source="firehose",reason="bad_gzip"} 2',
    'kms_exporter_invalid_records_total{source="firehose",reason="bad_base64"} 1',
    'kms_exporter_invalid_records_total{source="firehose",reason="bad_envelope"} 4',
  ]);
  t.same(recordsOf(body), records({ matched: 1, invalid: 10 }));
  t.same(errorsOf(body), errors(), 'bad records are not a bad request');
});

t.test('a Content-Type that is not a media type is malformed (413, permanent), not a 400 that Firehose would retry for hours', async (t) => {
  const running = await firehose(t);
  for (const contentType of ['application json', 'json', '/']) {
    const answer = await post(running, [], { requestId: 'ct', headers: { 'content-type': contentType } });
    t.same(answer, { status: 413, contentType: 'application/json; charset=utf-8', body: { requestId: 'ct', timestamp: 0, errorMessage: 'malformed request: the Content-Type header is not a media type' } }, contentType);
  }
  t.same(errorsOf(await running.scrape()), errors({ malformed_request: 3 }));
});

t.test('--max-record-bytes bounds each log event inside a record: the large one is invalid (too_large), the others count', async (t) => {
  const running = await firehose(t, { maxRecordBytes: '4KiB' });
  const large = JSON.stringify({ ...JSON.parse(change('big')), padding: 'x'.repeat(5000) });
  const answer = await post(running, [{ data: subscriptionRecord([change('e1'), large, change('e2')]) }], { requestId: 'sizes' });
  t.equal(answer.status, 200);
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 2`]);
  t.same(invalidOf(body), ['kms_exporter_invalid_records_total{source="firehose",reason="too_large"} 1']);
  t.same(recordsOf(body), records({ matched: 2, invalid: 1 }));
});

t.test('a refused request is answered with Connection: close, and nothing of it is held', async (t) => {
  const running = await firehose(t);
  const response = await running.service.app.inject({ method: 'POST', url: '/firehose', headers: { 'content-type': 'application/json', 'x-amz-firehose-request-id': 'r' }, payload: '{}' });
  t.equal(response.statusCode, 401);
  t.equal(response.headers['connection'], 'close');
  const body = await running.scrape();
  t.same(lines(body, 'kms_exporter_push_inflight_bytes'), ['kms_exporter_push_inflight_bytes 0']);
  t.same(lines(body, 'kms_exporter_push_inflight_limit_bytes'), ['kms_exporter_push_inflight_limit_bytes 134217728']);
});

t.test('EventBridge-to-Firehose records beside CloudWatch Logs ones in one request: exact counts, a malformed event invalid, the others counted once', async (t) => {
  const running = await firehose(t);
  const event = (id: string, fixture = 'DisableKey') => Buffer.from(`${JSON.stringify(eventBridgeEvent(change(id, fixture), { id: `bus-${id}` }))}\n`).toString('base64');
  const answer = await post(running, [
    { data: subscriptionRecord([change('e1'), change('e2')]) },
    { data: event('e3') },
    { data: event('e4', 'DisableKey.AccessDenied') },
    // The same change by both paths (a subscription filter and an EventBridge rule on one stream): counted once, by eventID.
    { data: event('e1') },
    { data: Buffer.from(JSON.stringify(eventBridgeEvent(change('e5'), { detailType: 'AWS Console Signin via CloudTrail' }))).toString('base64') },
    { data: Buffer.from('{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":{"eventID":').toString('base64') },
  ], { requestId: 'mixed' });
  t.same(answer, { status: 200, contentType: 'application/json; charset=utf-8', body: { requestId: 'mixed', timestamp: 0 } });
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 3`]);
  t.same(lines(body, 'kms_config_change_failures_total'), [`${DISABLE_KEY_DENIED} 1`]);
  t.same(recordsOf(body), records({ matched: 4, duplicate: 1, ignored: 1, invalid: 1 }));
  t.same(invalidOf(body), ['kms_exporter_invalid_records_total{source="firehose",reason="malformed_json"} 1']);
  t.same(errorsOf(body), errors());
  t.same(lines(body, 'kms_exporter_event_delay_seconds_count{source="firehose"}'), ['kms_exporter_event_delay_seconds_count{source="firehose"} 4']);
});
