// Classification of real-shaped CloudTrail records against what a careful human reads from each (expected.json).
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyRecord } from '../../src/classify/kms-change.ts';

const DIR = join(import.meta.dirname, '../fixtures/cloudtrail');

interface Expected {
  eventName: string;
  outcome: 'success' | 'failure' | 'ignored';
  errorCode: string | null;
  accountId: string;
  region: string;
  principalType: string;
  principalArn: string | null;
  keyArn: string | null;
  keyId: string | null;
  customKeyStoreId: string | null;
  deletionDate: string | null;
  sourceIp: string | null;
  userAgent: string | null;
}

const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expected>;

for (const [file, want] of Object.entries(expected)) {
  t.test(file, async (t) => {
    const record: unknown = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
    const result = classifyRecord(record);
    if (want.outcome === 'ignored') {
      t.same(result, { kind: 'ignored' });
      return;
    }
    if (result.kind !== 'change') {
      t.fail(`expected a change, got ${JSON.stringify(result)}`);
      return;
    }
    const change = result.change;
    t.same(
      {
        eventName: change.entry.eventName,
        outcome: change.outcome,
        errorCode: change.errorCode ?? null,
        accountId: change.accountId,
        region: change.region,
        principalType: change.principal.type,
        principalArn: change.principal.type === 'AWSService' ? (want.principalArn === null ? null : change.principal.arn ?? null) : change.principal.arn ?? null,
        keyArn: change.key?.arn ?? null,
        keyId: change.key?.id ?? null,
        customKeyStoreId: change.customKeyStoreId ?? null,
        deletionDate: change.deletion === undefined ? null : new Date(change.deletion.date).toISOString().replace('.000Z', 'Z'),
        sourceIp: change.sourceIp ?? null,
        userAgent: change.userAgent ?? null,
      },
      { ...want, deletionDate: want.deletionDate === null ? null : want.deletionDate.replace('.000Z', 'Z') },
    );
  });
}

t.test('every catalog event has a success fixture', async (t) => {
  const { CATALOG } = await import('../../src/catalog/kms-events.ts');
  const covered = new Set(Object.values(expected).filter((e) => e.outcome === 'success').map((e) => e.eventName));
  t.same(CATALOG.map((e) => e.eventName).filter((name) => !covered.has(name)), []);
});

t.test('negatives: other services, read-only calls and Insights records are ignored', async (t) => {
  const negatives = Object.keys(expected).filter((file) => file.startsWith('negative/'));
  t.ok(negatives.length >= 10, `${negatives.length} negative fixtures`);
});

t.test('malformed records are invalid with the reason, never thrown', async (t) => {
  const base = { eventVersion: '1.08', eventSource: 'kms.amazonaws.com', eventName: 'DisableKey', eventTime: '2026-11-20T10:00:00Z' };
  t.same(classifyRecord(null), { kind: 'invalid', reason: 'not_an_object', detail: 'record is not a JSON object' });
  t.same(classifyRecord([base]), { kind: 'invalid', reason: 'not_an_object', detail: 'record is not a JSON object' });
  t.same(classifyRecord({ hello: 'world' }), { kind: 'invalid', reason: 'not_cloudtrail', detail: 'record has none of eventVersion, eventSource, eventName' });
  t.same(classifyRecord({ ...base, eventName: 42 }), { kind: 'invalid', reason: 'wrong_type', detail: 'eventName is not a string' });
  t.same(classifyRecord({ ...base, eventSource: ['kms'] }), { kind: 'invalid', reason: 'wrong_type', detail: 'eventSource is not a string' });
  t.same(classifyRecord({ ...base, eventTime: 'yesterday' }), { kind: 'invalid', reason: 'wrong_type', detail: 'DisableKey: eventTime is missing or not a timestamp' });
  t.same(classifyRecord({ ...base, errorCode: 403 }), { kind: 'invalid', reason: 'wrong_type', detail: 'DisableKey: errorCode is not a string' });
});

t.test('label values stay in closed or validated sets', async (t) => {
  const base = { eventVersion: '1.08', eventSource: 'kms.amazonaws.com', eventName: 'DisableKey', eventTime: '2026-11-20T10:00:00Z' };
  const result = classifyRecord({ ...base, recipientAccountId: 'x"}', awsRegion: 'mars-1\n', userIdentity: { type: 'Alien' }, errorCode: 'Bad code with spaces' });
  t.equal(result.kind, 'change');
  if (result.kind !== 'change') return;
  t.equal(result.change.accountId, 'unknown');
  t.equal(result.change.region, 'unknown');
  t.equal(result.change.principal.type, 'Unknown');
  t.equal(result.change.errorCode, 'other');
});

t.test('a record without eventID is still a change (it cannot be de-duplicated)', async (t) => {
  const result = classifyRecord({ eventVersion: '1.08', eventSource: 'kms.amazonaws.com', eventName: 'CreateAlias', eventTime: '2026-11-20T10:00:00Z' });
  t.equal(result.kind, 'change');
  if (result.kind === 'change') t.equal(result.change.eventId, undefined);
});

t.test('property: the classifier is total over arbitrary JSON', async (t) => {
  t.doesNotThrow(() => fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const result = classifyRecord(value);
      return ['change', 'ignored', 'invalid'].includes(result.kind);
    }),
    { numRuns: 2000 },
  ), 'over any JSON value');
  t.doesNotThrow(() => fc.assert(
    fc.property(
      fc.record({ eventVersion: fc.jsonValue(), eventSource: fc.oneof(fc.constant('kms.amazonaws.com'), fc.jsonValue()), eventName: fc.oneof(fc.constant('PutKeyPolicy'), fc.jsonValue()), eventTime: fc.jsonValue(), userIdentity: fc.jsonValue(), resources: fc.jsonValue(), requestParameters: fc.jsonValue(), responseElements: fc.jsonValue(), errorCode: fc.jsonValue() }, { requiredKeys: [] }),
      (value) => ['change', 'ignored', 'invalid'].includes(classifyRecord(value).kind),
    ),
    { numRuns: 2000 },
  ), 'over records of KMS shape with fields of any type');
});

t.test('an unknown eventVersion is still read: the fields we use have been stable since 1.0', async (t) => {
  const record = JSON.parse(readFileSync(join(DIR, 'DisableKey.json'), 'utf8')) as Record<string, unknown>;
  for (const version of ['1.02', '1.11', '2.0', 'future']) {
    const result = classifyRecord({ ...record, eventVersion: version });
    t.equal(result.kind === 'change' ? result.change.entry.eventName : result.kind, 'DisableKey', `eventVersion ${version}`);
  }
});

t.test('sessionCredentialFromConsole: present only when "true", a console session', async (t) => {
  const consoleOf = (file: string, override: Record<string, unknown> = {}): boolean | string => {
    const result = classifyRecord({ ...(JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Record<string, unknown>), ...override });
    return result.kind === 'change' ? result.change.sessionCredentialFromConsole : result.kind;
  };
  t.equal(consoleOf('PutKeyPolicy.json'), true, 'a console session');
  t.equal(consoleOf('TagResource.json'), false, 'absent: not the console');
  t.equal(consoleOf('PutKeyPolicy.json', { sessionCredentialFromConsole: 'false' }), false, '"false"');
  t.equal(consoleOf('PutKeyPolicy.json', { sessionCredentialFromConsole: { nested: true } }), false, 'junk');
});
