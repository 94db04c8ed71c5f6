// The raw prefilter may only rule out records the classifier would not count, on bytes and on text alike.
import t from 'tap';
import fc from 'fast-check';
import { CATALOG } from '../../src/catalog/kms-events.ts';
import { PIPELINE_CATALOG } from '../../src/catalog/pipeline-events.ts';
import { classifyRecord } from '../../src/classify/kms-change.ts';
import { mayBeChangeBytes, mayBeChangeText } from '../../src/decode/prefilter.ts';

const both = (text: string) => {
  const buf = Buffer.from(text);
  return [mayBeChangeBytes(buf, 0, buf.length), mayBeChangeText(text)];
};

t.test('catalog names pass, read-only calls and decoys do not', async (t) => {
  for (const entry of CATALOG) t.same(both(`{"eventVersion":"1.08","eventName":"${entry.eventName}"}`), [true, true], entry.eventName);
  for (const name of ['Decrypt', 'Encrypt', 'GenerateDataKey', 'DescribeKey', 'ListAliases', 'CreateKeyPair', 'PutKeyPolicyX', 'disablekey', '']) {
    t.same(both(`{"eventVersion":"1.08","eventName":"${name}"}`), [false, false], name);
  }
  t.same(both('{"eventVersion":"1.08","eventCategory":"Insight"}'), [false, false], 'no eventName at all');
});

t.test('the pipeline catalog passes too, so its events reach the classifier from every source', async (t) => {
  for (const entry of PIPELINE_CATALOG) t.same(both(`{"eventSource":"${entry.eventSource}","eventName":"${entry.eventName}"}`), [true, true], entry.eventName);
  for (const name of ['StartLogging', 'CreateTrail', 'DescribeTrails', 'PutTargets', 'EnableRule']) t.same(both(`{"eventName":"${name}"}`), [false, false], name);
});

t.test('odd spacing, escapes and a later eventName key are not ruled out', async (t) => {
  t.same(both('{"eventName" :\n "DisableKey"}'), [true, true]);
  t.same(both('{"eventName":"Disable\\u004bey"}'), [true, true], 'escaped value: maybe');
  t.same(both('{"requestParameters":{"eventName":"Decrypt"},"eventName":"PutKeyPolicy"}'), [true, true]);
});

t.test('the byte range is respected', async (t) => {
  const buf = Buffer.from('{"eventName":"Decrypt"}\n{"eventName":"DisableKey"}');
  t.equal(mayBeChangeBytes(buf, 0, 23), false);
  t.equal(mayBeChangeBytes(buf, 24, buf.length), true);
});

const names = fc.oneof(
  fc.constantFrom(...CATALOG.map((e) => e.eventName)),
  fc.constantFrom('Decrypt', 'CreateKeyPair', 'GenerateDataKeyWithoutPlaintext', 'TagResources'),
  fc.string({ maxLength: 30 }),
);

t.test('property: whenever the classifier counts a change, the prefilter let it through', async (t) => {
  t.doesNotThrow(() => fc.assert(
    fc.property(names, fc.constantFrom('kms.amazonaws.com', 'ec2.amazonaws.com'), fc.integer({ min: 0, max: 4 }), fc.boolean(), (eventName, eventSource, indent, withNested) => {
      const record: Record<string, unknown> = { eventVersion: '1.08', eventTime: '2026-11-20T10:00:00Z', eventSource };
      if (withNested) record['requestParameters'] = { eventName: 'Decrypt' };
      record['eventName'] = eventName;
      const text = JSON.stringify(record, null, indent === 0 ? undefined : indent);
      const [bytes, str] = both(text);
      // The byte and text readers agree, and a change always passes.
      return bytes === str && (classifyRecord(record).kind !== 'change' || bytes);
    }),
    { numRuns: 2000 },
  ));
});
