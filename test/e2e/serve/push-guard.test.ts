// POST /firehose under hostile traffic, over real sockets to the real process: bodies never read without the key, the in-flight budget, timeouts, SIGTERM with a held body, and gzip bombs while /metrics answers.
import t from 'tap';
import type { Test } from 'tap';
import { gzipSync } from 'node:zlib';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { eventually, sample, startService } from '../../support/service-process.ts';
import type { ServiceProcess } from '../../support/service-process.ts';
import { firehoseHead, paddedEnvelope, rawRequest } from '../../support/raw-http.ts';

const KEY = 'firehose-access-key-0123456789';
const MiB = 1024 * 1024;

async function firehose(t: Test, args: readonly string[] = []): Promise<ServiceProcess> {
  const running = await startService(['--source', 'firehose', ...args], { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY });
  t.teardown(() => running.kill());
  return running;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The answer body with its timestamp checked to be a number and set to 0. */
function stamped(body: string): unknown {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  if (typeof parsed['timestamp'] !== 'number') throw new Error(`no timestamp in ${body}`);
  return { ...parsed, timestamp: 0 };
}

t.test('without the key, a 10 MiB body is never read: 401/403 arrive before the sender is done, then the connection is closed', async (t) => {
  const running = await firehose(t);
  for (const [key, status, errorMessage] of [[undefined, 401, 'missing access key'], ['guess', 403, 'invalid access key']] as const) {
    const connection = await rawRequest(running.address, firehoseHead({ key, requestId: `r-${status}`, contentLength: 10 * MiB }));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    // Sends slowly enough that the answer, if it comes first, is seen first.
    for (let i = 0; i < 160 && (await connection.write(chunk)); i++) await sleep(2);
    const answer = await connection.answer;
    t.equal(answer?.status, status);
    t.equal(answer?.headers['connection'], 'close');
    t.same(stamped(answer?.body ?? '{}'), { requestId: `r-${status}`, timestamp: 0, errorMessage });
    t.ok((connection.sentAtAnswer() ?? Infinity) < 10 * MiB, `answered after ${connection.sentAtAnswer()} of ${10 * MiB} body bytes`);
    await connection.closed;
    t.ok(connection.sent() < 10 * MiB, `the server closed the connection after ${connection.sent()} bytes`);
  }
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'firehose', error: 'unauthorized' }), 1);
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'firehose', error: 'forbidden' }), 1);
  t.equal(sample(body, 'kms_exporter_push_inflight_bytes'), 0);
});

t.test('a Content-Length over --firehose-max-body gets 413 before the body is read', async (t) => {
  const running = await firehose(t, ['--firehose-max-body', '1MiB']);
  const connection = await rawRequest(running.address, firehoseHead({ key: KEY, requestId: 'big', contentLength: 2 * MiB }));
  const answer = await connection.answer;
  t.equal(answer?.status, 413);
  t.same(stamped(answer?.body ?? '{}'), { requestId: 'big', timestamp: 0, errorMessage: 'request body larger than 1048576 bytes' });
  t.equal(connection.sent(), 0, 'not a body byte was sent');
  await connection.closed;
});

t.test('the in-flight budget: held bodies fill it, the next request gets 503 before its body is read, and is taken once a body is done', async (t) => {
  const running = await firehose(t, ['--firehose-max-body', '1MiB', '--push-max-inflight', '2MiB']);
  const held = await Promise.all(['held-1', 'held-2'].map(async (requestId) => {
    const connection = await rawRequest(running.address, firehoseHead({ key: KEY, requestId, contentLength: MiB }));
    const body = paddedEnvelope(requestId, MiB);
    await connection.write(body.subarray(0, 1000));
    return { connection, body };
  }));
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_exporter_push_inflight_bytes') === 2 * MiB, 5000), 'both bodies reserved');
  const metrics = await running.metrics();
  t.match(metrics, /^kms_exporter_push_inflight_limit_bytes 2097152$/m);

  const refused = await rawRequest(running.address, firehoseHead({ key: KEY, requestId: 'third', contentLength: 1000 }));
  const answer = await refused.answer;
  t.equal(answer?.status, 503, 'a status Firehose retries');
  t.same(stamped(answer?.body ?? '{}'), { requestId: 'third', timestamp: 0, errorMessage: 'the exporter holds 2097152 bytes of request bodies already; retry shortly' });
  t.equal(refused.sent(), 0);

  // One held sender finishes: its request is answered and its share of the budget comes back.
  const [first] = held;
  await first!.connection.write(first!.body.subarray(1000));
  t.equal((await first!.connection.answer)?.status, 200);
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_exporter_push_inflight_bytes') === MiB, 5000), 'one body still held');
  const retry = await rawRequest(running.address, firehoseHead({ key: KEY, requestId: 'third', contentLength: 1000 }));
  await retry.write(paddedEnvelope('third', 1000));
  t.equal((await retry.answer)?.status, 200, "Firehose's retry is taken");

  // A chunked body counts as it streams: past the budget it is cut off with 503.
  const chunked = await rawRequest(running.address, firehoseHead({ key: KEY, requestId: 'chunked', chunked: true }));
  const piece = Buffer.alloc(256 * 1024, 0x20);
  for (let i = 0; i < 8; i++) if (!(await chunked.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])))) break;
  const cut = await chunked.answer;
  t.equal(cut?.status, 503);
  t.same(stamped(cut?.body ?? '{}'), { requestId: 'chunked', timestamp: 0, errorMessage: 'the exporter holds 2097152 bytes of request bodies already; retry shortly' });

  held[1]!.connection.socket.destroy();
  t.ok(await eventually(async () => sample(await running.metrics(), 'kms_exporter_push_inflight_bytes') === 0, 5000), 'a sender that hangs up gives its share back');
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'firehose', error: 'over_budget' }), 2);
});

t.test('slow senders are closed at the header timeout, trickled bodies at the request timeout, while /metrics answers', async (t) => {
  const running = await firehose(t, ['--header-timeout', '1s', '--request-timeout', '2s']);
  const slowHeaders = await rawRequest(running.address, 'POST /firehose HTTP/1.1\r\nHost: x\r\n');
  const trickling = setInterval(() => void slowHeaders.write('X-Slow: 1\r\n'), 200);
  const body = await rawRequest(running.address, firehoseHead({ key: KEY, requestId: 'trickle', contentLength: 1000 }));
  const trickle = setInterval(() => void body.write(' '), 200);
  t.teardown(() => {
    clearInterval(trickling);
    clearInterval(trickle);
  });
  const started = Date.now();
  t.equal((await fetch(`${running.address}/metrics`)).status, 200, '/metrics meanwhile');
  const headersClosedAt = await slowHeaders.closed;
  t.ok(headersClosedAt >= 900 && headersClosedAt < 2000, `slow headers closed after ${headersClosedAt} ms`);
  t.equal((await slowHeaders.answer)?.status, 408);
  const bodyClosedAt = await body.closed;
  t.ok(bodyClosedAt >= 1900 && bodyClosedAt < 3500, `trickled body closed after ${bodyClosedAt} ms`);
  t.ok(Date.now() - started < 4000);
});

t.test('many idle connections past --max-connections: the oldest idle ones are closed and a scrape still gets in', async (t) => {
  const running = await firehose(t, ['--max-connections', '50']);
  const sockets: Socket[] = [];
  const url = new URL(running.address);
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
  });
  for (let i = 0; i < 200; i++) {
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => {});
    sockets.push(socket);
  }
  await Promise.all(sockets.map((socket) => new Promise((resolve) => (socket.connecting ? socket.once('connect', resolve).once('close', resolve) : resolve(undefined)))));
  await sleep(200);
  const response = await fetch(`${running.address}/metrics`);
  t.equal(response.status, 200);
  await response.text();
  const open = sockets.filter((socket) => !socket.destroyed && socket.readyState === 'open').length;
  t.ok(open <= 50, `${open} of the 200 idle connections are still open`);
});

t.test('SIGTERM while a sender holds a request body open: the process exits within the stop grace', async (t) => {
  const running = await firehose(t);
  const held = await rawRequest(running.address, firehoseHead({ key: KEY, requestId: 'held', contentLength: MiB }));
  await held.write(Buffer.alloc(1000, 0x20));
  await sleep(200);
  const started = Date.now();
  const code = await running.stop();
  t.equal(code, 0);
  t.ok(Date.now() - started < 8000, `exited after ${Date.now() - started} ms`);
});

t.test('request ids that are empty or longer than 256 characters are refused (413) and never remembered', async (t) => {
  const running = await firehose(t);
  for (const requestId of ['', 'r'.repeat(30_000)]) {
    const envelope = Buffer.from(JSON.stringify({ requestId, timestamp: Date.now(), records: [] }));
    const connection = await rawRequest(running.address, firehoseHead({ key: KEY, requestId: 'hdr', contentLength: envelope.length }));
    await connection.write(envelope);
    const answer = await connection.answer;
    t.equal(answer?.status, 413);
    t.match((JSON.parse(answer?.body ?? '{}') as { errorMessage: string }).errorMessage, /^malformed request: requestId is (missing, empty or not a string|longer than 256 characters)$/);
  }
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_state_entries', { table: 'push_request_ids' }), 0);
  t.equal(sample(body, 'kms_exporter_source_errors_total', { source: 'firehose', error: 'malformed_request' }), 2);
});

t.test('records that each inflate to 64 MiB are refused as too large without stalling /metrics', async (t) => {
  const running = await firehose(t);
  const bomb = gzipSync(Buffer.alloc(65 * MiB, 0x20)).toString('base64');
  const records = Array.from({ length: 8 }, () => ({ data: bomb }));
  const posted = fetch(`${running.address}/firehose`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': KEY, 'x-amz-firehose-request-id': 'bombs' },
    body: JSON.stringify({ requestId: 'bombs', timestamp: Date.now(), records }),
  });
  let slowest = 0;
  let scrapes = 0;
  let done = false;
  void posted.finally(() => {
    done = true;
  });
  while (!done) {
    const started = Date.now();
    const response = await fetch(`${running.address}/metrics`);
    await response.text();
    if (response.status === 200) scrapes++;
    slowest = Math.max(slowest, Date.now() - started);
    await sleep(20);
  }
  const response = await posted;
  t.equal(response.status, 200);
  t.ok(scrapes >= 2, `${scrapes} scrapes answered while the bombs inflated`);
  t.ok(slowest < 1000, `the slowest scrape took ${slowest} ms`);
  const body = await running.metrics();
  t.equal(sample(body, 'kms_exporter_invalid_records_total', { source: 'firehose', reason: 'too_large' }), 8);
});

t.test('a flood of refused requests is logged throttled: at most 20 lines a minute', async (t) => {
  const running = await firehose(t);
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${running.address}/firehose`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': 'wrong' }, body: '{}' });
    t.equal(response.status, 403);
  }
  const lines = running.stderr().split('\n').filter((line) => line.includes('X-Amz-Firehose-Access-Key'));
  t.equal(lines.length, 20);
  t.equal(sample(await running.metrics(), 'kms_exporter_source_errors_total', { source: 'firehose', error: 'forbidden' }), 100);
});
