// Framing: every input format, plain and gzip, cut at any chunk boundary, gives the same records; bad input is counted, never thrown.
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { frameLogFile } from '../../src/decode/log-file-document.ts';
import { decodeRecordStream, InputStreamError } from '../../src/decode/record-stream.ts';
import type { RecordStreamOptions } from '../../src/decode/record-stream.ts';
import type { InvalidRecord, RawRecord } from '../../src/record-batch.ts';

const OPTIONS: RecordStreamOptions = { maxRecordBytes: 4096, maxDocumentBytes: 65536 };

interface Decoded {
  records: unknown[];
  skipped: number;
  invalid: InvalidRecord[];
  error: string | undefined;
}

async function* chunks(buf: Buffer, cuts: readonly number[] = []): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    if (cut <= at || cut >= buf.length) continue;
    yield buf.subarray(at, cut);
    at = cut;
  }
  if (at < buf.length) yield buf.subarray(at);
}

/** A raw record as the pipeline will see it; text the pipeline cannot parse (it counts it invalid) becomes a marker. */
function materialise(record: RawRecord): unknown {
  if (typeof record !== 'string') return record;
  try {
    return JSON.parse(record);
  } catch {
    return { unparseable: record };
  }
}

async function decode(buf: Buffer, cuts: readonly number[] = [], options: RecordStreamOptions = OPTIONS): Promise<Decoded> {
  const out: Decoded = { records: [], skipped: 0, invalid: [], error: undefined };
  try {
    for await (const batch of decodeRecordStream(chunks(buf, cuts), options)) {
      out.records.push(...batch.records.map(materialise));
      out.skipped += batch.skipped;
      out.invalid.push(...batch.invalid);
    }
  } catch (error) {
    if (!(error instanceof InputStreamError)) throw error;
    out.error = error.message;
  }
  return out;
}

function record(eventName: string, id: string, extra: object = {}): object {
  return { eventVersion: '1.08', eventTime: '2026-11-20T10:00:00Z', eventSource: 'kms.amazonaws.com', eventName, eventID: id, awsRegion: 'us-east-1', recipientAccountId: '111122223333', ...extra };
}

const CHANGE = record('DisableKey', 'e1');
const DECRYPT = record('Decrypt', 'e2');
const SCHEDULE = record('ScheduleKeyDeletion', 'e3', { requestParameters: { keyId: 'k', pendingWindowInDays: 7 } });

const jsonl = (records: readonly object[]) => Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
const s3File = (records: readonly object[]) => Buffer.from(JSON.stringify({ Records: records }));
const payload = (records: readonly object[], messageType = 'DATA_MESSAGE') =>
  JSON.stringify({
    messageType,
    owner: '111122223333',
    logGroup: 'aws-cloudtrail-logs',
    logStream: '111122223333_CloudTrail_us-east-1',
    subscriptionFilters: ['kms'],
    logEvents: records.map((r, i) => ({ id: String(i), timestamp: 1, message: JSON.stringify(r) })),
  });

t.test('JSON Lines: changes become records, other lines are skipped on raw bytes', async (t) => {
  const out = await decode(jsonl([CHANGE, DECRYPT, SCHEDULE]));
  t.same(out.records, [CHANGE, SCHEDULE]);
  t.equal(out.skipped, 1);
  t.same(out.invalid, []);
});

t.test('CloudTrail S3 log file, plain and gzip', async (t) => {
  for (const buf of [s3File([CHANGE, DECRYPT, SCHEDULE]), gzipSync(s3File([CHANGE, DECRYPT, SCHEDULE]))]) {
    const out = await decode(buf);
    t.same(out.records, [CHANGE, SCHEDULE]);
    t.equal(out.skipped, 1);
    t.equal(out.error, undefined);
  }
});

t.test('pretty-printed S3 log file and records with spaces after colons', async (t) => {
  const out = await decode(Buffer.from(JSON.stringify({ Records: [CHANGE, DECRYPT] }, null, 2)));
  t.same(out.records, [CHANGE]);
  t.equal(out.skipped, 1);
});

t.test('subscription payloads: data messages unpacked, control messages skipped', async (t) => {
  const text = payload([CHANGE, DECRYPT]) + '\n' + payload([], 'CONTROL_MESSAGE') + '\n';
  const out = await decode(gzipSync(text));
  t.same(out.records, [JSON.stringify(CHANGE), JSON.stringify(DECRYPT)].map((m) => JSON.parse(m)));
  t.same(out.invalid, []);
});

t.test('concatenated gzip members and concatenated documents (Firehose-to-S3 style)', async (t) => {
  const buf = Buffer.concat([gzipSync(payload([CHANGE])), gzipSync(payload([SCHEDULE]))]);
  const out = await decode(buf);
  t.same(out.records, [CHANGE, SCHEDULE]);
});

t.test('one pretty-printed record (an AWS documentation example)', async (t) => {
  const out = await decode(Buffer.from(JSON.stringify(CHANGE, null, 4)));
  t.same(out.records, [CHANGE]);
});

t.test('malformed lines are invalid; the good lines beside them still come through', async (t) => {
  const text = [JSON.stringify(CHANGE), '{"eventVersion":"1.08","eventName":"DisableKey",', 'not json at all', '[1,2]', JSON.stringify(SCHEDULE)].join('\n');
  const out = await decode(Buffer.from(text));
  t.same(out.records, [CHANGE, SCHEDULE]);
  t.same(
    out.invalid.map((i) => i.reason),
    ['malformed_json', 'malformed_json', 'not_an_object', 'not_an_object'],
  );
  t.match(out.invalid[0]?.detail, /^line 2: /);
});

t.test('a line longer than the limit is invalid (too_large) and the next line is read', async (t) => {
  const big = record('PutKeyPolicy', 'big', { requestParameters: { policy: 'x'.repeat(10_000) } });
  const out = await decode(jsonl([CHANGE, big, SCHEDULE]), [100, 3000, 9000]);
  t.same(out.records, [CHANGE, SCHEDULE]);
  t.same(out.invalid.map((i) => i.reason), ['too_large']);
});

t.test('truncated gzip: the records before the cut are delivered, then a clear error', async (t) => {
  const gz = gzipSync(jsonl(Array.from({ length: 2000 }, (_, i) => record('DisableKey', `id-${i}`))));
  const out = await decode(gz.subarray(0, Math.floor(gz.length * 0.6)));
  t.ok(out.records.length > 100 && out.records.length < 2000, `some records before the cut (${out.records.length})`);
  t.equal(out.error, 'gzip stream is truncated');
  t.same(out.invalid.map((i) => i.reason).at(-1), 'truncated');
});

t.test('corrupt gzip body is an error, not a crash', async (t) => {
  const gz = gzipSync(jsonl([CHANGE]));
  gz.fill(0x41, 12, gz.length - 8);
  const out = await decode(gz);
  t.match(out.error, /^gzip stream is corrupt/);
});

t.test('S3 file cut mid-record: records before the cut, then truncated', async (t) => {
  const buf = s3File([CHANGE, SCHEDULE]);
  const out = await decode(buf.subarray(0, buf.length - 20));
  t.same(out.records, [CHANGE]);
  t.same(out.invalid.map((i) => i.reason), ['truncated']);
});

t.test('wrong JSON types in envelopes are invalid with a reason', async (t) => {
  const text = [
    JSON.stringify({ Records: 'nope' }),
    JSON.stringify({ messageType: 'DATA_MESSAGE', logEvents: 7 }),
    JSON.stringify({ messageType: 'SURPRISE', logEvents: [] }),
    JSON.stringify({ messageType: 'DATA_MESSAGE', logEvents: [{ message: 5 }, { message: JSON.stringify(CHANGE) }] }),
  ].join('\n');
  const out = await decode(Buffer.from(text));
  t.same(out.records, [CHANGE]);
  t.same(out.invalid.map((i) => i.reason), ['bad_envelope', 'bad_envelope', 'bad_envelope', 'wrong_type']);
});

t.test('S3 Records holding scalars: counted not_an_object, the records beside them kept', async (t) => {
  const out = await decode(Buffer.from(`{"Records":[${JSON.stringify(CHANGE)},42,"x",${JSON.stringify(SCHEDULE)}]}`));
  t.same(out.records, [CHANGE, SCHEDULE]);
  t.same(out.invalid.map((i) => i.reason), ['not_an_object', 'not_an_object']);
});

t.test('empty input and blank lines produce nothing', async (t) => {
  t.same(await decode(Buffer.alloc(0)), { records: [], skipped: 0, invalid: [], error: undefined });
  t.same(await decode(Buffer.from('\n\n  \n')), { records: [], skipped: 0, invalid: [], error: undefined });
  t.same((await decode(gzipSync(''))).records, []);
});

const manyRecords = (n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 0 ? record('DisableKey', `a-${i}`) : record('Decrypt', `a-${i}`)));

t.test('a top-level JSON array of records larger than a document counts like the same records in an S3 file', async (t) => {
  const records = manyRecords(600);
  const array = Buffer.from(JSON.stringify(records));
  t.ok(array.length > OPTIONS.maxDocumentBytes, 'the array is larger than one document may be');
  const s3 = await decode(s3File(records));
  for (const [form, buf] of [['array', array], ['pretty array', Buffer.from(JSON.stringify(records, null, 2))], ['gzip array', gzipSync(array)]] as const) {
    const out = await decode(buf, [1, 1000, 70_000]);
    t.same(out, s3, form);
  }
  t.equal(s3.records.length, 200);
  t.equal(s3.skipped, 400);
});

t.test('top-level array: scalars are not_an_object once each, however the input is cut', async (t) => {
  const buf = Buffer.from(`[${JSON.stringify(CHANGE)},12345,"x",true,${JSON.stringify(SCHEDULE)}]`);
  for (let cut = 1; cut < buf.length; cut++) {
    const out = await decode(buf, [cut]);
    t.same(out.records, [CHANGE, SCHEDULE], `cut at ${cut}`);
    t.same(out.invalid, Array.from({ length: 3 }, () => ({ reason: 'not_an_object', detail: 'document 1: an array element is not an object' })), `cut at ${cut}`);
  }
});

t.test('leading blank lines cost one pass: 64 MiB of them in 64 KiB reads, in seconds', async (t) => {
  const blank = Buffer.alloc(64 * 1024, 0x0a);
  async function* input(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 1024; i++) yield blank;
    yield jsonl([CHANGE, DECRYPT]);
  }
  const started = performance.now();
  const records: unknown[] = [];
  for await (const batch of decodeRecordStream(input(), OPTIONS)) records.push(...batch.records.map(materialise));
  const seconds = (performance.now() - started) / 1000;
  t.same(records, [CHANGE]);
  t.ok(seconds < 5, `took ${seconds.toFixed(2)} s`);
});

t.test('a UTF-8 byte-order mark at the start loses no record, in every format and wherever the reads cut it', async (t) => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
  for (const [form, body] of [['jsonl', jsonl([CHANGE, DECRYPT, SCHEDULE])], ['s3', s3File([CHANGE, DECRYPT, SCHEDULE])], ['array', Buffer.from(JSON.stringify([CHANGE, DECRYPT, SCHEDULE]))]] as const) {
    const expected = await decode(body);
    t.same(expected.records, [CHANGE, SCHEDULE], form);
    for (const cut of [0, 1, 2, 3, 4]) t.same(await decode(Buffer.concat([BOM, body]), [cut]), expected, `${form}, cut at ${cut}`);
    t.same(await decode(gzipSync(Buffer.concat([BOM, body]))), expected, `${form}, gzip`);
  }
  // Only at the very start: a lone first byte of one is data, and so is a mark later on.
  t.same((await decode(Buffer.from([0xef]))).invalid.map((i) => i.reason), ['malformed_json']);
});

t.test('binary input is refused as not CloudTrail, naming its first bytes, with nothing counted', async (t) => {
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), Buffer.alloc(200_000, 0x41), Buffer.from('{"Records":[')]);
  const expected = { records: [], skipped: 0, invalid: [], error: 'not CloudTrail: binary data (starting 7f 45 4c 46 02 01 01 00), not JSON Lines, a CloudTrail log file or a CloudWatch Logs subscription payload' };
  t.same(await decode(elf), expected);
  t.same(await decode(elf, [3, 9, 65536]), expected);
  t.same(await decode(gzipSync(elf)), expected);
  // Text that is not JSON is not binary: its lines are counted invalid as they come.
  t.same((await decode(Buffer.from('root:x:0:0:root:/root:/bin/bash\n'))).invalid.map((i) => i.reason), ['malformed_json']);
});

t.test('a value cut short (between tokens) by a record at the start of a line loses only itself, wherever the reads cut', async (t) => {
  const buf = Buffer.from(`{"Records":[${JSON.stringify(CHANGE).replace(/"eventID".*$/, '')}\n${JSON.stringify(SCHEDULE)}\n{"logEvents":[\n${JSON.stringify(CHANGE)}\n`);
  for (let cut = 0; cut < buf.length; cut++) {
    const out = await decode(buf, [cut]);
    t.same(out.records, [SCHEDULE, CHANGE], `cut at ${cut}`);
    t.same(out.invalid.map((i) => i.detail), ['document 1: a value cut short by a record at the start of a line', 'document 3: a value cut short by a record at the start of a line'], `cut at ${cut}`);
  }
});

t.test('JSON.parse complaints name the position, never the bytes of the input', async (t) => {
  const out = await decode(Buffer.from(`${JSON.stringify(CHANGE)}\n[\u00e9\u0000secret]\nsecret words\n`));
  t.same(out.invalid, [
    { reason: 'malformed_json', detail: 'line 2: Unexpected token \'\u00e9\' is not valid JSON' },
    { reason: 'malformed_json', detail: "line 3: Unexpected token 's' is not valid JSON" },
  ]);
});

// Property-based: the framing is a function of the bytes, not of how they were cut into chunks.
const eventName = fc.constantFrom('DisableKey', 'Decrypt', 'PutKeyPolicy', 'CreateKeyPair', 'TagResource', 'GenerateDataKey', 'ScheduleKeyDeletion');
const cloudTrailRecord = fc.record({
  eventVersion: fc.constant('1.08'),
  eventTime: fc.constant('2026-11-20T10:00:00Z'),
  eventSource: fc.constantFrom('kms.amazonaws.com', 'ec2.amazonaws.com', 'sqs.amazonaws.com'),
  eventName,
  eventID: fc.uuid(),
  requestParameters: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null))),
  userAgent: fc.string({ maxLength: 60 }),
});
const format = fc.constantFrom('jsonl', 's3', 'payload', 'pretty');

function encode(kind: string, records: readonly object[]): Buffer {
  if (kind === 'jsonl') return jsonl(records);
  if (kind === 's3') return s3File(records);
  if (kind === 'payload') return Buffer.from(payload(records));
  return Buffer.from(records.map((r) => JSON.stringify(r, null, 2)).join('\n'));
}

const isChange = (r: { eventSource?: unknown; eventName?: unknown }) => r.eventSource === 'kms.amazonaws.com' && ['DisableKey', 'PutKeyPolicy', 'TagResource', 'ScheduleKeyDeletion'].includes(r.eventName as string);

t.test('property: any format, plain or gzip, any chunking, yields every change in order', async (t) => {
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.array(cloudTrailRecord, { minLength: 1, maxLength: 20 }), format, fc.boolean(), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), async (generated, kind, gzip, rawCuts, ends) => {
      const records = JSON.parse(JSON.stringify(generated)) as (typeof generated)[number][];
      const plain = encode(kind, records);
      const buf = gzip ? gzipSync(plain) : plain;
      const cuts = rawCuts.map((c) => c % (buf.length + 1));
      const out = await decode(buf, cuts, { maxRecordBytes: 1 << 20, maxDocumentBytes: 1 << 24, ends });
      // The raw prefilter may pass more than changes (the classifier decides), never fewer.
      return isDeepStrictEqual((out.records as typeof records).filter(isChange), records.filter(isChange)) && out.records.length + out.skipped === records.length && out.invalid.length === 0 && out.error === undefined;
    }),
    { numRuns: 150 },
  ));
});

t.test('property: arbitrary bytes never throw anything but a clean input error', async (t) => {
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 5 }), async (bytes, cuts) => {
      const out = await decode(Buffer.from(bytes), cuts);
      return Array.isArray(out.records);
    }),
    { numRuns: 300 },
  ));
});

t.test('property: damaging one line of JSON Lines loses only that line', async (t) => {
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.array(cloudTrailRecord, { minLength: 2, maxLength: 12 }), fc.nat(), fc.nat(), async (generated, which, cutAt) => {
      const records = JSON.parse(JSON.stringify(generated)) as (typeof generated)[number][];
      const lines = records.map((r) => JSON.stringify(r));
      const victim = which % lines.length;
      const line = lines[victim]!;
      lines[victim] = line.slice(0, 1 + (cutAt % (line.length - 2)));
      const out = await decode(Buffer.from(lines.join('\n')));
      return isDeepStrictEqual((out.records as typeof records).filter(isChange), records.filter((r, i) => i !== victim && isChange(r)));
    }),
    { numRuns: 100 },
  ));
});

t.test('property: quotes and backslashes in strings, cut at every offset, never confuse the scanner', async (t) => {
  const nasty = fc.string({ unit: fc.constantFrom('\\', '"', 'a', '{', '}', '[', ']', ',', ':', ' '), maxLength: 12 });
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.array(nasty, { minLength: 1, maxLength: 4 }), fc.boolean(), async (values, pretty) => {
      const records = values.map((v, i) => record('DisableKey', `id-${i}`, { requestParameters: { [v]: v, keyId: v } }));
      const buf = pretty ? Buffer.from(JSON.stringify({ Records: records }, null, 1)) : s3File(records);
      for (let cut = 1; cut < buf.length; cut++) {
        const out = await decode(buf, [cut]);
        if (JSON.stringify(out.records) !== JSON.stringify(records) || out.invalid.length > 0) return false;
      }
      return true;
    }),
    { numRuns: 20 },
  ));
});

t.test('property: damaged input (any format, plain or gzip) gives the same records and invalid ones however it is cut', async (t) => {
  const damage = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.constantFrom(...Buffer.from('{}[]",:\\\n \ufeff')), { minLength: 1, maxLength: 6 }).map((a) => Uint8Array.from(a)) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  const arrayFormat = fc.constantFrom('jsonl', 's3', 'payload', 'pretty', 'array');
  // Sometimes a record over 64 KiB, so the format is chosen on a window the reads cut differently.
  const padding = fc.oneof(fc.constant(0), fc.integer({ min: 60_000, max: 140_000 }));
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.array(cloudTrailRecord, { minLength: 1, maxLength: 8 }), arrayFormat, padding, fc.array(damage, { maxLength: 3 }), fc.boolean(), fc.array(fc.nat(), { minLength: 1, maxLength: 10 }), async (generated, kind, pad, damages, gzip, rawCuts) => {
      const records = JSON.parse(JSON.stringify(generated)) as object[];
      if (pad > 0) records[0] = { ...records[0], padding: 'p'.repeat(pad) };
      let plain = kind === 'array' ? Buffer.from(JSON.stringify(records)) : encode(kind, records);
      for (const d of damages) {
        const at = d.at % (plain.length + 1);
        if (d.kind === 'delete') plain = Buffer.concat([plain.subarray(0, at), plain.subarray(at + d.length)]);
        else if (d.kind === 'insert') plain = Buffer.concat([plain.subarray(0, at), d.bytes, plain.subarray(at)]);
        else plain = plain.subarray(0, Math.max(1, at));
      }
      const buf = gzip ? gzipSync(plain) : plain;
      const options = { maxRecordBytes: 1 << 20, maxDocumentBytes: 1 << 24 };
      const whole = await decode(buf, [], options);
      const cut = await decode(buf, rawCuts.map((c) => c % (buf.length + 1)), options);
      const stdin = await decode(buf, Array.from({ length: Math.floor(buf.length / 65536) }, (_, i) => (i + 1) * 65536), options);
      // A file or an S3 object: read whole and inflated at once when small. A gzipped log file the fast cut takes is
      // not read by the exact scanner (test/decode/log-file-document.test.ts says what it gives then).
      const file = await decode(buf, rawCuts.map((c) => c % (buf.length + 1)), { ...options, ends: true });
      const fast = gzip && frameLogFile(plain, 0, plain.length, options.maxRecordBytes) !== undefined;
      return isDeepStrictEqual(cut, whole) && isDeepStrictEqual(stdin, whole) && (fast || isDeepStrictEqual(file, whole));
    }),
    { numRuns: 200 },
  ));
});

t.test('binary input is refused naming the same first bytes however the stream is cut (the damage property found a message that depended on it)', async (t) => {
  const plain = Buffer.concat([Uint8Array.from([14, 137, 149, 161, 10, 123, 191, 123, 187]), Buffer.from(`${JSON.stringify(CHANGE)}\n`)]);
  for (const buf of [plain, gzipSync(plain)]) {
    const whole = await decode(buf);
    t.equal(whole.error, 'not CloudTrail: binary data (starting 0e 89 95 a1 0a 7b bf 7b), not JSON Lines, a CloudTrail log file or a CloudWatch Logs subscription payload');
    const differing = [];
    for (let cut = 1; cut < buf.length; cut++) if (!isDeepStrictEqual(await decode(buf, [cut]), whole)) differing.push(cut);
    t.same(differing, [], `${buf === plain ? 'plain' : 'gzip'}: every cut gives the same result`);
  }
});

t.test('a read that fails mid-gzip (a connection reset) rejects the stream with that error, after the records inflated before it, and is never uncaught', async (t) => {
  const gzip = gzipSync(jsonl(Array.from({ length: 2000 }, (_, i) => record('DisableKey', `e${i}`))));
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  async function* failing(): AsyncGenerator<Buffer> {
    yield gzip.subarray(0, gzip.length >> 1);
    // The reset comes later, as over a network: what was inflated meanwhile has gone out.
    await new Promise((resolve) => setTimeout(resolve, 20));
    throw reset;
  }
  let records = 0;
  const error = await (async () => {
    for await (const batch of decodeRecordStream(failing(), OPTIONS)) records += batch.records.length;
  })().then(() => undefined, (caught: unknown) => caught);
  t.equal(error, reset, 'the read error itself, for the reader to name');
  t.ok(records > 0 && records < 2000, `the records inflated before it (${records})`);
});
