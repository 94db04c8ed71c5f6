// decodeFirehoseRequest on every malformed shape, record by record; properties: it never throws, and each record is its log events or one invalid entry.
import t from 'tap';
import type { Test } from 'tap';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { splitJsonObjects } from '../../../src/decode/concatenated-json.ts';
import { jsonErrorDetail } from '../../../src/decode/json-error.ts';
import { decodeFirehoseRequest } from '../../../src/sources/firehose/firehose-envelope.ts';
import type { InvalidReason } from '../../../src/record-batch.ts';

const MAX = 64 * 1024;
const LIMITS = { maxPayloadBytes: MAX, maxRecordBytes: MAX };

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
const gz = (text: string | Buffer) => gzipSync(text).toString('base64');
const envelope = (records: unknown) => JSON.stringify({ requestId: 'req-1', timestamp: 1, records });
const dataPayload = (logEvents: unknown[]) => JSON.stringify({ messageType: 'DATA_MESSAGE', owner: '111122223333', logGroup: 'g', logStream: 's', subscriptionFilters: ['f'], logEvents });

function parseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is JSON`);
}

/** What the decoder says of text JSON.parse refuses (the excerpt of the input left out). */
function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return jsonErrorDetail(error);
  }
  throw new Error(`${text} is JSON`);
}

/** One assertion per property: fast-check's report (the shrunk counterexample) is the failure message. */
async function property<Ts extends unknown[]>(t: Test, name: string, prop: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  const result = await fc.check(prop, { numRuns });
  t.ok(!result.failed, result.failed ? (fc.defaultReportMessage(result) ?? name) : name);
}

t.test('an envelope that cannot be read at all is malformed, with the reason and the request id when it has one', async (t) => {
  const longId = 'r'.repeat(257);
  const cases: [string, string | undefined, string][] = [
    ['not json', undefined, `body is not JSON: ${parseError('not json')}`],
    ['', undefined, `body is not JSON: ${parseError('')}`],
    ['{"requestId":"r","records":[]', undefined, `body is not JSON: ${parseError('{"requestId":"r","records":[]')}`],
    ['null', undefined, 'body is not a JSON object'],
    ['42', undefined, 'body is not a JSON object'],
    ['"text"', undefined, 'body is not a JSON object'],
    ['[{"requestId":"r"}]', undefined, 'body is not a JSON object'],
    ['{}', undefined, 'requestId is missing, empty or not a string'],
    ['{"requestId":"","records":[]}', undefined, 'requestId is missing, empty or not a string'],
    ['{"requestId":7,"records":[]}', undefined, 'requestId is missing, empty or not a string'],
    ['{"requestId":null,"records":[]}', undefined, 'requestId is missing, empty or not a string'],
    [JSON.stringify({ requestId: longId, records: [] }), undefined, 'requestId is longer than 256 characters'],
    ['{"requestId":"r"}', 'r', 'records is missing or not an array'],
    ['{"requestId":"r","records":{"0":{"data":"x"}}}', 'r', 'records is missing or not an array'],
    ['{"requestId":"r","records":null}', 'r', 'records is missing or not an array'],
    [JSON.stringify({ requestId: 'r', records: Array(10_001).fill({}) }), 'r', "records holds 10001 entries, more than Firehose's 10000"],
  ];
  for (const [body, requestId, reason] of cases) t.same(await decodeFirehoseRequest(body, LIMITS), { kind: 'malformed', requestId, reason }, body.slice(0, 60));
});

t.test('the edges that are still an envelope: no records, 10,000 records, a 256-character request id', async (t) => {
  t.same(await decodeFirehoseRequest(envelope([]), LIMITS), { kind: 'ok', requestId: 'req-1', batch: { records: [], skipped: 0, invalid: [] }, controlMessages: 0 });
  const many = await decodeFirehoseRequest(envelope(Array(10_000).fill({})), LIMITS);
  t.equal(many.kind === 'ok' ? many.batch.invalid.length : many.reason, 10_000, 'each of the 10,000 read (and found wanting)');
  const id = 'r'.repeat(256);
  t.same(await decodeFirehoseRequest(JSON.stringify({ requestId: id, records: [] }), LIMITS), { kind: 'ok', requestId: id, batch: { records: [], skipped: 0, invalid: [] }, controlMessages: 0 });
});

t.test('each bad record is one invalid entry with its reason and index; the good ones beside it are read', async (t) => {
  const bomb = gz(dataPayload([{ message: ' '.repeat(MAX) }]));
  const truncated = Buffer.from(gz(dataPayload([{ message: 'x' }])), 'base64').subarray(0, 20).toString('base64');
  const records: unknown[] = [
    { data: gz(dataPayload([{ id: '1', timestamp: 1, message: 'first' }, { id: '2', timestamp: 2, message: 'second' }])) },
    null,
    7,
    { data: 5 },
    { nodata: 'x' },
    { data: 'abc' },
    { data: 'aGVsbG9=' },
    { data: '' },
    { data: b64('hello') },
    { data: truncated },
    { data: bomb },
    { data: gz('{not json') },
    { data: gz('[]') },
    { data: gz('"a string"') },
    { data: gz('{"messageType":"SOMETHING_ELSE","logEvents":[]}') },
    { data: gz('{"messageType":"DATA_MESSAGE"}') },
    { data: gz(dataPayload([{ message: 'third' }, { message: 42 }, null])) },
    { data: gz('{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}') },
  ];
  const result = await decodeFirehoseRequest(envelope(records), LIMITS);
  t.same(result, {
    kind: 'ok',
    requestId: 'req-1',
    controlMessages: 1,
    batch: {
      records: ['first', 'second', 'third'],
      skipped: 0,
      invalid: [
        { reason: 'bad_envelope', detail: 'records[1].data is missing or not a string' },
        { reason: 'bad_envelope', detail: 'records[2].data is missing or not a string' },
        { reason: 'bad_envelope', detail: 'records[3].data is missing or not a string' },
        { reason: 'bad_envelope', detail: 'records[4].data is missing or not a string' },
        { reason: 'bad_base64', detail: 'records[5].data is not base64' },
        // Decodable, but not as Firehose writes base64: not what it sent.
        { reason: 'bad_base64', detail: 'records[6].data is not base64' },
        { reason: 'bad_gzip', detail: 'records[7] is neither gzip-compressed (a CloudWatch Logs subscription payload) nor a JSON object (an EventBridge event)' },
        { reason: 'bad_gzip', detail: 'records[8] is neither gzip-compressed (a CloudWatch Logs subscription payload) nor a JSON object (an EventBridge event)' },
        { reason: 'bad_gzip', detail: 'records[9]: not a complete gzip stream' },
        { reason: 'too_large', detail: `records[10]: larger than ${MAX} bytes once decompressed` },
        { reason: 'malformed_json', detail: `records[11]: ${parseError('{not json')}` },
        { reason: 'bad_envelope', detail: 'records[12] is not a subscription payload object' },
        { reason: 'bad_envelope', detail: 'records[13] is not a subscription payload object' },
        { reason: 'bad_envelope', detail: 'records[14]: subscription payload has messageType "SOMETHING_ELSE", expected DATA_MESSAGE or CONTROL_MESSAGE' },
        { reason: 'bad_envelope', detail: 'records[15]: subscription payload logEvents is not an array' },
        { reason: 'wrong_type', detail: 'records[16]: subscription payload logEvents[1].message is not a string' },
        { reason: 'wrong_type', detail: 'records[16]: subscription payload logEvents[2].message is not a string' },
      ],
    },
  });
});

t.test('property: no body, however malformed, makes the decoder throw', async (t) => {
  const bodies = fc.oneof(
    fc.string(),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.record({ requestId: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()), timestamp: fc.jsonValue(), records: fc.oneof(fc.jsonValue(), fc.array(fc.oneof(fc.jsonValue(), fc.record({ data: fc.oneof(fc.string(), fc.base64String(), fc.uint8Array().map((bytes) => gz(Buffer.from(bytes)))) })))) }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  );
  await property(t, 'decodeFirehoseRequest is total', fc.asyncProperty(bodies, async (body) => ['ok', 'malformed'].includes((await decodeFirehoseRequest(body, { maxPayloadBytes: 4096, maxRecordBytes: 4096 })).kind)), 1000);
});

/** A generated record with what it must decode to: its log events, its one invalid entry (one of these reasons), or a control message. */
interface Modelled {
  readonly record: unknown;
  readonly messages: readonly unknown[];
  /** Per invalid entry the record must give, the reasons allowed. */
  readonly invalid: readonly (readonly InvalidReason[])[];
  readonly control: number;
}

/** The first byte that is not white space is `{`: the record is read as JSON. */
const opensObject = (bytes: Buffer) => /^[ \t\r\n]*\{/.test(bytes.toString('latin1'));
const noData = (value: unknown) => !(typeof value === 'object' && value !== null && 'data' in value);
const noType = (value: unknown) => !(typeof value === 'object' && value !== null && 'messageType' in value);

const modelled: fc.Arbitrary<Modelled> = fc.oneof(
  // A subscription payload: each log event a message or one wrong_type entry.
  fc.array(fc.oneof(fc.string().map((message) => ({ message })), fc.jsonValue().filter((v) => typeof v !== 'string').map((message) => ({ message }))), { maxLength: 6 }).map((events) => ({
    record: { data: gz(dataPayload(events)) },
    messages: events.flatMap((event) => (typeof event.message === 'string' ? [event.message] : [])),
    invalid: events.flatMap((event) => (typeof event.message === 'string' ? [] : [['wrong_type'] as const])),
    control: 0,
  })),
  fc.constant({ record: { data: gz('{"messageType":"CONTROL_MESSAGE","logEvents":[]}') }, messages: [], invalid: [], control: 1 }),
  fc.jsonValue().filter(noData).map((record) => ({ record, messages: [], invalid: [['bad_envelope'] as const], control: 0 })),
  // A string that happens to be base64 of a JSON object's start is a (malformed) EventBridge record.
  fc.string().filter((data) => !opensObject(Buffer.from(data, 'base64'))).map((data) => ({ record: { data }, messages: [], invalid: [['bad_base64', 'bad_gzip'] as const], control: 0 })),
  // Bytes that are not gzip, or only start like it, and not JSON: never a complete gzip stream.
  fc.uint8Array({ maxLength: 64 }).filter((bytes) => !opensObject(Buffer.from(bytes))).map((bytes) => ({ record: { data: b64(Buffer.from(bytes)) }, messages: [], invalid: [['bad_gzip'] as const], control: 0 })),
  // EventBridge events, one to a record or several (newline-delimited or back to back): each one record, in order.
  fc.array(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), { minLength: 1, maxLength: 3 }).chain((events) =>
    fc.constantFrom('', '\n', '\r\n', ' \n ').map((between) => ({ record: { data: b64(events.map((e) => JSON.stringify(e)).join(between) + between) }, messages: events, invalid: [], control: 0 })),
  ),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ record: { data: gz(Buffer.from(bytes)) }, messages: [], invalid: [['malformed_json', 'bad_envelope'] as const], control: 0 })),
  fc.jsonValue().filter(noType).map((payload) => ({ record: { data: gz(JSON.stringify(payload)) }, messages: [], invalid: [['bad_envelope'] as const], control: 0 })),
);

t.test('property: in a valid envelope, every record is its log events, a control message, or exactly one invalid entry with a reason, in order', async (t) => {
  await property(
    t,
    'each record decodes as its model says',
    fc.asyncProperty(fc.array(modelled, { maxLength: 12 }), async (generated) => {
      const result = await decodeFirehoseRequest(envelope(generated.map((m) => m.record)), LIMITS);
      if (result.kind !== 'ok') return false;
      const messages = generated.flatMap((m) => m.messages);
      if (JSON.stringify(result.batch.records) !== JSON.stringify(messages)) return false;
      if (result.controlMessages !== generated.reduce((sum, m) => sum + m.control, 0)) return false;
      const expected = generated.flatMap((m, index) => m.invalid.map((reasons) => ({ index, reasons })));
      if (result.batch.invalid.length !== expected.length) return false;
      return result.batch.invalid.every((entry, i) => {
        const { index, reasons } = expected[i]!;
        return entry.detail.startsWith(`records[${index}]`) && reasons.includes(entry.reason);
      });
    }),
    300,
  );
});

t.test('EventBridge records (the event JSON, not compressed) beside CloudWatch Logs ones: each event a parsed record, each bad piece one invalid entry', async (t) => {
  const event = (id: string) => ({ version: '0', id, 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.kms', detail: { eventID: id } });
  const records = [
    { data: gz(dataPayload([{ id: '1', timestamp: 1, message: 'from logs' }])) },
    { data: b64(JSON.stringify(event('one'))) },
    // A rule's input transformer or Firehose's AppendDelimiterToRecord ends each event with a newline.
    { data: b64(`${JSON.stringify(event('lined'))}\n`) },
    // A transform that put several events in one record, newline-delimited and back to back; a `}` inside a string is content.
    { data: b64(`${JSON.stringify(event('a}'))}\n${JSON.stringify(event('b'))}${JSON.stringify(event('c'))}\n`) },
    { data: b64(' \r\n{"eventVersion":"1.08","eventID":"bare"}') },
    { data: b64('{not json') },
    { data: b64(`${JSON.stringify(event('kept'))}\n{"cut": `) },
    { data: b64('{"a":1} stray text {"b":2}') },
    { data: b64(`{"big":"${'x'.repeat(MAX)}"}`) },
  ];
  const result = await decodeFirehoseRequest(envelope(records), LIMITS);
  t.same(result, {
    kind: 'ok',
    requestId: 'req-1',
    controlMessages: 0,
    batch: {
      records: ['from logs', event('one'), event('lined'), event('a}'), event('b'), event('c'), { eventVersion: '1.08', eventID: 'bare' }, event('kept'), { a: 1 }, { b: 2 }],
      skipped: 0,
      invalid: [
        { reason: 'malformed_json', detail: `records[5]: ${jsonError('{not json')}` },
        { reason: 'malformed_json', detail: `records[6]: ${jsonError('{"cut": ')}` },
        { reason: 'malformed_json', detail: `records[7]: ${jsonError('stray text')}` },
        { reason: 'too_large', detail: `records[8]: an event larger than ${MAX} bytes` },
      ],
    },
  });
});

t.test('splitJsonObjects: objects joined by any white space or none come back one piece each; property', async (t) => {
  const objects = fc.array(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }), { maxLength: 6 });
  const space = fc.stringMatching(/^[ \t\r\n]{0,3}$/);
  await property(
    t,
    'split then parse gives back the objects',
    fc.asyncProperty(objects, fc.array(space, { minLength: 7, maxLength: 7 }), async (values, gaps) => {
      const text = values.map((value, i) => `${gaps[i]}${JSON.stringify(value)}`).join('') + gaps[6];
      const pieces = splitJsonObjects(text);
      return JSON.stringify(pieces.map((piece) => JSON.parse(piece) as unknown)) === JSON.stringify(values);
    }),
    500,
  );
  await property(t, 'splitJsonObjects is total and loses no non-space character', fc.asyncProperty(fc.string(), async (text) => splitJsonObjects(text).join('').replace(/\s/g, '') === text.replace(/\s/g, '')), 500);
});
