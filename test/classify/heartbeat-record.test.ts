// Which records are the exporter's own heartbeat: a TagResource on a configured canary key setting the heartbeat tag to a time; nothing else.
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEARTBEAT_TAG_KEY, heartbeatOf, parseHeartbeatKey } from '../../src/classify/heartbeat-record.ts';
import { classifyRecord } from '../../src/classify/kms-change.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/cloudtrail');
const CANARY = parseHeartbeatKey('arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab')!;
const SENT = '2026-12-02T11:40:00.000Z';

function tagResource(edit: (record: Record<string, unknown>) => void = () => {}): Record<string, unknown> {
  const record = JSON.parse(readFileSync(join(FIXTURES, 'TagResource.json'), 'utf8')) as Record<string, unknown>;
  (record['requestParameters'] as Record<string, unknown>)['tags'] = [{ tagKey: HEARTBEAT_TAG_KEY, tagValue: SENT }];
  edit(record);
  return record;
}

function beat(record: Record<string, unknown>, keys = [CANARY]) {
  const classified = classifyRecord(record);
  return classified.kind === 'change' ? heartbeatOf(classified.change, record, keys) : undefined;
}

t.test('canary key ARNs: keys only, with their account, region and id', async (t) => {
  t.same(CANARY, { arn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', accountId: '111122223333', region: 'us-east-1', keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' });
  t.same(parseHeartbeatKey('arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab')?.keyId, 'mrk-1234abcd12ab34cd56ef1234567890ab', 'a multi-Region key in another partition');
  for (const bad of ['1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:us-east-1:111122223333:alias/canary', 'arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:s3:::bucket', '']) {
    t.equal(parseHeartbeatKey(bad), undefined, JSON.stringify(bad));
  }
});

t.test('the heartbeat record is recognised by key ARN or bare id, failed calls too', async (t) => {
  t.same(beat(tagResource()), { key: CANARY, sentAt: Date.parse(SENT) });
  t.same(beat(tagResource((r) => Object.assign(r['requestParameters'] as object, { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }))), { key: CANARY, sentAt: Date.parse(SENT) }, 'a bare key id in the record’s account and region');
  t.same(beat(tagResource((r) => Object.assign(r, { errorCode: 'AccessDeniedException', errorMessage: 'denied' }))), { key: CANARY, sentAt: Date.parse(SENT) }, 'a refused call still came through the path');
});

t.test('anything else is a user change: other keys, other tags, other accounts, other events, no keys configured', async (t) => {
  t.equal(beat(tagResource((r) => Object.assign(r['requestParameters'] as object, { tags: [{ tagKey: 'Department', tagValue: 'IT' }] }))), undefined, 'another tag on the canary key');
  t.equal(beat(tagResource((r) => Object.assign(r['requestParameters'] as object, { tags: [{ tagKey: HEARTBEAT_TAG_KEY, tagValue: 'soon' }] }))), undefined, 'a tag value that is no time');
  const elsewhere = 'arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const inAnotherAccount = (r: Record<string, unknown>): void => {
    Object.assign(r['requestParameters'] as object, { keyId: elsewhere });
    Object.assign(r, { recipientAccountId: '444455556666', resources: [{ accountId: '444455556666', type: 'AWS::KMS::Key', ARN: elsewhere }] });
  };
  t.equal(beat(tagResource(inAnotherAccount)), undefined, 'the same key id in another account');
  t.equal(beat(tagResource((r) => Object.assign(r, { eventName: 'UntagResource' }))), undefined, 'UntagResource');
  t.equal(beat(tagResource(), []), undefined, 'without --heartbeat-key');
});

t.test('total: no record, however malformed its tags, throws or is taken for a heartbeat without the tag', async () => {
  fc.assert(
    fc.property(fc.jsonValue(), (tags) => {
      const record = tagResource((r) => Object.assign(r['requestParameters'] as object, { tags }));
      const found = beat(record);
      const hasTag = Array.isArray(tags) && tags.some((tag) => typeof tag === 'object' && tag !== null && (tag as Record<string, unknown>)['tagKey'] === HEARTBEAT_TAG_KEY);
      return found === undefined || hasTag;
    }),
  );
});
