// POST /firehose as Kinesis Data Firehose calls it: real gzip and base64 payloads, bad input, retries, and several replicas summing to ground truth.
import t from 'tap';
import type { Test } from 'tap';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sample, startService } from '../../support/service-process.ts';
import type { ServiceProcess } from '../../support/service-process.ts';
import { TRAIL_TRUTH, trailCopy, truthFor } from '../../support/cloudtrail-stream.ts';
import { subscriptionRecord } from '../../support/firehose-request.ts';

const KEY = 'firehose-access-key-0123456789';

async function firehose(t: Test, args: readonly string[] = [], env: Record<string, string> = { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY }): Promise<ServiceProcess> {
  const running = await startService(['--source', 'firehose', ...args], env);
  t.teardown(() => running.kill());
  return running;
}

interface Sent {
  status: number;
  contentType: string | null;
  body: Record<string, unknown>;
}

async function post(address: string, records: readonly unknown[], options: { requestId?: string; key?: string | null; gzip?: boolean; raw?: Buffer } = {}): Promise<Sent> {
  const requestId = options.requestId ?? randomUUID();
  const json = Buffer.from(JSON.stringify({ requestId, timestamp: Date.now(), records }));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amz-firehose-protocol-version': '1.0',
    'x-amz-firehose-request-id': requestId,
    'x-amz-firehose-source-arn': 'arn:aws:firehose:us-east-1:111122223333:deliverystream/kms-changes',
    'x-amz-firehose-common-attributes': '{"commonAttributes":{}}',
  };
  if (options.key !== null) headers['x-amz-firehose-access-key'] = options.key ?? KEY;
  let body = options.raw ?? json;
  if (options.gzip === true) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  const response = await fetch(`${address}/firehose`, { method: 'POST', headers, body });
  return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> };
}

t.test("AWS's documented example request: answered 200 with the same requestId; its plain-text records are invalid", async (t) => {
  const running = await firehose(t);
  // From the Firehose developer guide's HTTP endpoint request example: data is "hello" and "hello world", not gzip.
  const response = await post(running.address, [{ data: 'aGVsbG8=' }, { data: 'aGVsbG8gd29ybGQ=' }], { requestId: 'ed4acda5-034f-9f42-bba1-f29aea6d7d8f' });
  t.equal(response.status, 200);
  t.match(response.contentType, /^application\/json/);
  t.same(Object.keys(response.body).sort(), ['requestId', 'timestamp']);
  t.equal(response.body['requestId'], 'ed4acda5-034f-9f42-bba1-f29aea6d7d8f');
  t.type(response.body['timestamp'], 'number');
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_invalid_records_total', { source: 'firehose', reason: 'bad_gzip' }), 2);
});

t.test('subscription payloads of the example trail, plain and gzip bodies, with a control message: exact counts', async (t) => {
  const running = await firehose(t);
  const lines = trailCopy(0, Date.now() - 600_000, Date.now()).map((r) => r.message);
  const records = [];
  for (let i = 0; i < lines.length; i += 100) records.push({ data: subscriptionRecord(lines.slice(i, i + 100)) });
  records.splice(3, 0, { data: subscriptionRecord(['CWL CONTROL MESSAGE: Checking health of destination Firehose.'], 'CONTROL_MESSAGE') });
  const first = await post(running.address, records.slice(0, 10));
  const second = await post(running.address, records.slice(10), { gzip: true });
  t.equal(first.status, 200);
  t.equal(second.status, 200);
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_changes_total'), truthFor(1).changes, 'every change');
  t.equal(sample(body, 'kms_config_change_failures_total'), truthFor(1).failures);
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'firehose', result: 'matched' }), TRAIL_TRUTH.records.matched);
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'firehose', result: 'invalid' }), 0, 'the control message is not a record');
});

t.test('missing and wrong access keys: 401 and 403 with the JSON error body, nothing recorded, the key never logged', async (t) => {
  const running = await firehose(t);
  const record = [{ data: subscriptionRecord(trailCopy(1, 0, 1000).map((r) => r.message)) }];
  const missing = await post(running.address, record, { key: null, requestId: 'r-missing' });
  t.equal(missing.status, 401);
  t.same({ ...missing.body, timestamp: 0 }, { requestId: 'r-missing', timestamp: 0, errorMessage: 'missing access key' });
  const wrong = await post(running.address, record, { key: 'guess', requestId: 'r-wrong' });
  t.equal(wrong.status, 403);
  t.same({ ...wrong.body, timestamp: 0 }, { requestId: 'r-wrong', timestamp: 0, errorMessage: 'invalid access key' });
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'firehose' }), 0);
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'firehose', error: 'unauthorized' }), 1);
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'firehose', error: 'forbidden' }), 1);
  t.notMatch(running.stderr(), KEY);
  t.notMatch(running.stderr(), 'guess');
});

t.test('the access key can come from a file (a mounted Kubernetes secret)', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'kce-fh-')), 'key');
  writeFileSync(file, `${KEY}\n`);
  const running = await firehose(t, ['--firehose-access-key-file', file], {});
  t.equal((await post(running.address, [])).status, 200);
  t.equal((await post(running.address, [], { key: 'nope' })).status, 403);
});

t.test('a malformed envelope gets 413 (permanent: Firehose will not retry it) and is counted', async (t) => {
  const running = await firehose(t);
  const cases: [Buffer, string][] = [
    [Buffer.from('not json'), 'malformed request: body is not JSON'],
    [Buffer.from('[1,2]'), 'malformed request: body is not a JSON object'],
    [Buffer.from('{"records":[]}'), 'malformed request: requestId is missing, empty or not a string'],
    [Buffer.from('{"requestId":"x","records":"nope"}'), 'malformed request: records is missing or not an array'],
  ];
  for (const [raw, message] of cases) {
    const response = await post(running.address, [], { raw, requestId: 'hdr-id' });
    t.equal(response.status, 413, raw.toString());
    t.match(response.body['errorMessage'], message);
    t.ok(response.body['requestId'] === 'hdr-id' || response.body['requestId'] === 'x', 'the request id is echoed');
  }
  const corruptGzip = await post(running.address, [], { raw: Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), gzip: false });
  t.equal(corruptGzip.status, 413);
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'firehose', error: 'malformed_request' }), 5);
});

t.test('good and bad records in one request: 200, the good ones counted, each bad one invalid with its reason', async (t) => {
  const running = await firehose(t);
  const good = subscriptionRecord(trailCopy(2, 0, 1000).map((r) => r.message));
  const truncated = Buffer.from(subscriptionRecord(['x']), 'base64').subarray(0, 15).toString('base64');
  const response = await post(running.address, [
    { data: good },
    { data: '!!not base64!!' },
    { data: truncated },
    { data: gzipSync('{"messageType":"DATA_MESSAGE","logEvents":[{"message":42}]}').toString('base64') },
    { data: gzipSync('[]').toString('base64') },
    { nodata: true },
    7,
  ]);
  t.equal(response.status, 200);
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_changes_total'), truthFor(1).changes);
  for (const [reason, count] of Object.entries({ bad_base64: 1, bad_gzip: 1, wrong_type: 1, bad_envelope: 3 })) {
    t.equal(sample(body, 'kms_exporter_invalid_records_total', { source: 'firehose', reason }), count, reason);
  }
});

t.test('bodies over the limit (raw, or once decompressed: a gzip bomb) get 413', async (t) => {
  const running = await firehose(t, ['--firehose-max-body', '256KiB']);
  const big = await post(running.address, [{ data: 'A'.repeat(300 * 1024) }]);
  t.equal(big.status, 413);
  t.equal(big.body['errorMessage'], 'request body larger than 262144 bytes');
  const bomb = await post(running.address, [], { raw: gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)), gzip: false });
  t.equal(bomb.status, 413, 'a body whose gzip inflates past the limit');
  const bombHeaders = await fetch(`${running.address}/firehose`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-amz-firehose-access-key': KEY, 'x-amz-firehose-request-id': 'bomb' },
    body: gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)),
  });
  t.equal(bombHeaders.status, 413);
  t.match(((await bombHeaders.json()) as { errorMessage: string }).errorMessage, /once decompressed/);
});

t.test('a retried request id is acknowledged, not counted again; eventID de-duplication holds across requests', async (t) => {
  const running = await firehose(t);
  const records = [{ data: subscriptionRecord(trailCopy(3, 0, 1000).map((r) => r.message)) }];
  t.equal((await post(running.address, records, { requestId: 'same' })).status, 200);
  t.equal((await post(running.address, records, { requestId: 'same' })).status, 200, 'the retry');
  t.equal((await post(running.address, records, { requestId: 'other' })).status, 200, 'the same records under a new request id');
  const body = await running.metrics();
  t.equal(sample(body, 'kms_config_changes_total'), truthFor(1).changes);
  t.equal(sample(body, 'kms_exporter_source_events_total', { source: 'firehose', event: 'retried_request' }), 1);
  t.equal(sample(body, 'kms_exporter_records_total', { source: 'firehose', result: 'duplicate' }), 2 * TRAIL_TRUTH.records.duplicate + TRAIL_TRUTH.records.matched, 'the trail’s own re-deliveries, then every record of the second request id');
});

t.test('three replicas fed by one generator, with retries and bad records: summed counters equal ground truth', async (t) => {
  const replicas = await Promise.all([firehose(t), firehose(t), firehose(t)]);
  // A load balancer that hashes on X-Amz-Firehose-Request-Id sends a retry where the original went.
  const replicaFor = (requestId: string) => replicas[createHash('sha1').update(requestId).digest()[0]! % replicas.length]!;
  const copies = 6;
  const sends: Promise<void>[] = [];
  for (let copy = 0; copy < copies; copy++) {
    const lines = trailCopy(100 + copy, Date.now() - 600_000, Date.now()).map((r) => r.message);
    for (let i = 0; i < lines.length; i += 250) {
      const requestId = randomUUID();
      const records = [{ data: subscriptionRecord(lines.slice(i, i + 125)) }, { data: subscriptionRecord(lines.slice(i + 125, i + 250)) }, { data: 'bad!' }];
      sends.push(
        (async () => {
          const target = replicaFor(requestId);
          t.equal((await post(target.address, records, { requestId, gzip: i % 500 === 0 })).status, 200);
          // Every fourth request is delivered twice, as Firehose does when an answer is lost.
          if (i % 1000 === 0) t.equal((await post(target.address, records, { requestId })).status, 200);
        })(),
      );
    }
  }
  await Promise.all(sends);
  const bodies = await Promise.all(replicas.map((r) => r.metrics()));
  const sum = (name: string, labels: Record<string, string> = {}) => bodies.reduce((total, body) => total + sample(body, name, labels), 0);
  const truth = truthFor(copies);
  t.equal(sum('kms_config_changes_total'), truth.changes);
  t.equal(sum('kms_config_change_failures_total'), truth.failures);
  for (const [name, count] of Object.entries(truth.byEventName)) t.equal(sum('kms_config_changes_total', { event_name: name }), count, name);
  t.ok(bodies.every((body) => sample(body, 'kms_exporter_records_total', { result: 'matched' }) > 0), 'every replica took a share');
  t.equal(sum('kms_exporter_invalid_records_total', { reason: 'bad_base64' }), sends.length, 'one bad record per request, retries not counted again');
});
