// The fast cut of CloudTrail's own log files: the same records as the exact scanner, and the exact scanner whenever a cut is in doubt.
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { frameLogFile } from '../../src/decode/log-file-document.ts';
import { mayBeChangeText } from '../../src/decode/prefilter.ts';
import { decodeRecordStream, decodeStreaming, InputStreamError } from '../../src/decode/record-stream.ts';
import type { RecordBatch, RawRecord } from '../../src/record-batch.ts';

const MAX_RECORD = 1 << 20;
const OPTIONS = { maxRecordBytes: MAX_RECORD, maxDocumentBytes: 1 << 24 };

interface Decoded {
  readonly records: unknown[];
  readonly skipped: number;
  readonly invalid: string[];
  readonly error: string | undefined;
}

/** A raw record as the pipeline sees it: text it cannot parse (it counts it invalid) becomes a marker. */
function parsed(record: RawRecord): unknown {
  if (typeof record !== 'string') return record;
  try {
    return JSON.parse(record);
  } catch {
    return { unparseable: record };
  }
}

async function collect(batches: AsyncIterable<RecordBatch>): Promise<Decoded> {
  const records: unknown[] = [];
  const invalid: string[] = [];
  let skipped = 0;
  let error: string | undefined;
  try {
    for await (const batch of batches) {
      records.push(...batch.records.map(parsed));
      skipped += batch.skipped;
      invalid.push(...batch.invalid.map((i) => `${i.reason}: ${i.detail}`));
    }
  } catch (caught) {
    if (!(caught instanceof InputStreamError)) throw caught;
    error = caught.message;
  }
  return { records, skipped, invalid, error };
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

const frame = (buf: Buffer) => frameLogFile(buf, 0, buf.length, MAX_RECORD);
const exact = (buf: Buffer) => collect(decodeStreaming(once(buf), OPTIONS));
/** As a file or an S3 object is decoded: it ends by itself, so a small one is read whole. */
const decoded = (buf: Buffer) => collect(decodeRecordStream(once(buf), { ...OPTIONS, ends: true }));

function record(eventName: string, id: string, extra: object = {}): object {
  return { eventVersion: '1.08', eventTime: '2026-11-20T10:00:00Z', eventSource: 'kms.amazonaws.com', eventName, eventID: id, ...extra };
}
const logFile = (records: readonly object[]) => Buffer.from(JSON.stringify({ Records: records }));

t.test('a log file in CloudTrail\'s form: candidates parsed, the rest counted on their bytes', async (t) => {
  const change = record('DisableKey', 'e1');
  const framed = frame(logFile([change, record('Decrypt', 'e2'), record('ScheduleKeyDeletion', 'e3')]));
  t.same(framed, { records: [change, record('ScheduleKeyDeletion', 'e3')], skipped: 1 });
  t.same(frame(Buffer.from('\ufeff {"Records":[]}\n')), { records: [], skipped: 0 }, 'a byte-order mark and white space around it');
});

t.test('what is not CloudTrail\'s form goes to the exact scanner', async (t) => {
  const change = record('DisableKey', 'e1');
  const cases: Record<string, Buffer> = {
    'pretty-printed': Buffer.from(JSON.stringify({ Records: [change] }, null, 1)),
    'another first key': Buffer.from(JSON.stringify({ Records: [{ eventName: 'DisableKey', eventVersion: '1.08' }] })),
    'a scalar element': Buffer.from(`{"Records":[${JSON.stringify(change)},5]}`),
    'an element that does not open with eventVersion after a change': Buffer.from(`{"Records":[${JSON.stringify(change)},{"eventName":"Decrypt"}]}`),
    'a record over the size limit': logFile([record('DisableKey', 'e1', { pad: 'x'.repeat(MAX_RECORD) })]),
    'cut short': logFile([change]).subarray(0, 60),
    'not a log file': Buffer.from(JSON.stringify(change)),
  };
  for (const [name, buf] of Object.entries(cases)) {
    t.equal(frame(buf), undefined, name);
    t.same(await decoded(gzipSync(buf)), await exact(buf), `${name}: decoded as the exact scanner decodes it`);
  }
});

t.test('a cut inside a record is never taken for a record: the change parses only whole, so the document is read exactly', async (t) => {
  // An array of objects opening with eventVersion, nested in a change: the cut falls inside it.
  const nested = record('PutKeyPolicy', 'e1', { requestParameters: { items: [{ a: 1 }, { eventVersion: 'x', eventName: 'DisableKey' }] } });
  const buf = logFile([nested, record('Decrypt', 'e2')]);
  t.equal(frame(buf), undefined);
  t.same(await decoded(gzipSync(buf)), { records: [nested], skipped: 1, invalid: [], error: undefined });
  // Inside a string the bytes are escaped: no cut.
  const quoted = record('PutKeyPolicy', 'e3', { requestParameters: { policy: '},{"eventVersion":"1.08"}' } });
  t.same(frame(logFile([quoted])), { records: [quoted], skipped: 0 });
});

// Records with the content that makes cutting hard: braces, brackets, quotes and escapes in strings, nested arrays of objects, non-ASCII text.
const awkwardString = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('},{"eventVersion"', '{"Records":[', '\\"}]}', 'é€😀', '"eventName":"DisableKey"'));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, awkwardString, fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 3 })),
})).node;
const cloudTrailRecord = fc.record({
  eventVersion: fc.constant('1.08'),
  eventSource: fc.constantFrom('kms.amazonaws.com', 'ec2.amazonaws.com'),
  eventName: fc.constantFrom('DisableKey', 'Decrypt', 'PutKeyPolicy', 'CreateKeyPair', 'TagResource', 'ScheduleKeyDeletion'),
  eventID: fc.uuid(),
  requestParameters: fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 4 }),
  userAgent: awkwardString,
});

t.test('property: CloudTrail\'s own files are cut fast, into exactly what the exact scanner reads, plain or gzip', async (t) => {
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.array(cloudTrailRecord, { maxLength: 12 }), fc.boolean(), async (records, gzip) => {
      const plain = logFile(records);
      // Keys named eventVersion nested inside a record are the documented exception; the generator's keys are random strings.
      const framed = frame(plain);
      const buf = gzip ? gzipSync(plain) : plain;
      return framed !== undefined && isDeepStrictEqual(await decoded(buf), await exact(buf));
    }),
    { numRuns: 300 },
  ));
});

t.test('a plain (not gzipped) file is read by the exact scanner, even in CloudTrail\'s form: only a checksummed gzip stream is trusted to be as CloudTrail wrote it', async (t) => {
  // A quote inserted into a key of a record that is no change: the document no longer closes.
  const text = JSON.stringify({ Records: [record('Decrypt', 'e1'), record('DisableKey', 'e2')] }).replace('"eventSource"', '"event"Source"');
  t.same(await decoded(Buffer.from(text)), { records: [], skipped: 0, invalid: ['truncated: document 1: input ended inside a JSON value'], error: undefined }, 'plain: the exact scanner finds the damage');
  // Gzipped, the same bytes are cut fast: the change is found, the damaged record counted as one that is not a change.
  t.same(await decoded(gzipSync(text)), { records: [record('DisableKey', 'e2')], skipped: 1, invalid: [], error: undefined }, 'gzip: cut fast');
});

t.test('property: a damaged file is read exactly, or cut fast into whole records that keep every undamaged change', async (t) => {
  const damage = fc.record({ at: fc.nat(), byte: fc.constantFrom(0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x5c, 0x65) });
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.array(cloudTrailRecord, { minLength: 1, maxLength: 8 }), fc.array(damage, { minLength: 1, maxLength: 3 }), async (records, damages) => {
      const buf = Buffer.from(logFile(records));
      const hit = damages.map(({ at }) => at % buf.length);
      for (const [i, { byte }] of damages.entries()) buf[hit[i]!] = byte;
      const framed = frame(buf);
      if (framed === undefined) return isDeepStrictEqual(await decoded(gzipSync(buf)), await exact(buf));
      // Where each record's text lies in the file: `{"Records":[` then the records, comma-separated.
      let at = '{"Records":['.length;
      const kept = records.flatMap((record) => {
        const text = JSON.stringify(record);
        const span = [at, at + Buffer.byteLength(text)] as const;
        at = span[1] + 1;
        return hit.some((h) => h >= span[0] && h < span[1]) || !mayBeChangeText(text) ? [] : [record];
      });
      const found = new Set(framed.records.map((r) => JSON.stringify(r)));
      return kept.every((record) => found.has(JSON.stringify(record)));
    }),
    { numRuns: 400 },
  ));
});
