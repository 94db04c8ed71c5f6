// What each real CloudTrail record does to key state (keyOpsOf): the fixtures from the AWS documentation, their failures, and malformed variants.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyRecord } from '../src/classify/kms-change.ts';
import { keyOpsOf } from '../src/pipeline.ts';
import type { KeyOp } from '../src/state/key-state.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures/cloudtrail');

function record(name: string, edit: (record: Record<string, unknown>) => void = () => {}): Record<string, unknown> {
  const value = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown>;
  edit(value);
  return value;
}

function opsOf(value: Record<string, unknown>): KeyOp[] {
  const classified = classifyRecord(value);
  if (classified.kind !== 'change') throw new Error(`not a change: ${classified.kind}`);
  return keyOpsOf(classified.change);
}

function request(value: Record<string, unknown>): Record<string, unknown> {
  return value['requestParameters'] as Record<string, unknown>;
}

const A = { accountId: '111122223333', region: 'us-east-1' };
const IMPORTED = { ...A, keyId: '6f8b2a41-3c7d-4e9a-b1f0-2d5c8e7a9b34' };

t.test('CreateAlias points the alias at the key, in the account and region of the record', async (t) => {
  t.same(opsOf(record('CreateAlias.json')), [
    { kind: 'set_alias', alias: { ...A, alias: 'alias/app-data' }, keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', eventTime: Date.parse('2026-11-20T23:08:31Z') },
  ]);
});

t.test('UpdateAlias moves it: the key is the one after the alias ARN in resources', async (t) => {
  t.same(opsOf(record('UpdateAlias.json')), [
    { kind: 'set_alias', alias: { ...A, alias: 'alias/app-data' }, keyId: '9a7c5e31-0b2d-4f6a-8c1e-3d5f7a9b1c2e', eventTime: Date.parse('2026-11-21T21:18:15Z') },
  ]);
});

t.test('DeleteAlias removes it', async (t) => {
  t.same(opsOf(record('DeleteAlias.json')), [{ kind: 'delete_alias', alias: { accountId: '444455556666', region: 'eu-west-1', alias: 'alias/legacy-reports' }, eventTime: Date.parse('2026-11-22T08:02:27Z') }]);
});

t.test('CreateKey carries no alias and changes no key state', async (t) => {
  t.same(opsOf(record('CreateKey.json')), []);
});

t.test('failed attempts change nothing', async (t) => {
  t.same(opsOf(record('CreateAlias.AlreadyExistsException.json')), []);
  t.same(opsOf(record('UpdateAlias.AccessDenied.json')), []);
  t.same(opsOf(record('ImportKeyMaterial.json', (r) => Object.assign(r, { errorCode: 'AccessDenied', errorMessage: 'denied' }))), []);
});

t.test('an alias name KMS would not accept is not learned', async (t) => {
  t.same(opsOf(record('CreateAlias.json', (r) => Object.assign(request(r), { aliasName: 'app-data' }))), [], 'no alias/ prefix');
  t.same(opsOf(record('CreateAlias.json', (r) => Object.assign(request(r), { aliasName: `alias/${'x'.repeat(251)}` }))), [], 'too long');
  t.same(opsOf(record('CreateAlias.json', (r) => Object.assign(request(r), { aliasName: 42 }))), [], 'not a string');
  const hugeKey = (r: Record<string, unknown>) => Object.assign(r, { resources: [], responseElements: null, requestParameters: { aliasName: 'alias/app-data', targetKeyId: 'k'.repeat(100_000) } });
  t.same(opsOf(record('CreateAlias.json', hugeKey)), [], 'a key id no key has: not held, whatever its size');
});

t.test('ImportKeyMaterial with KEY_MATERIAL_EXPIRES sets the expiry from validTo ("Jan 1, 2027 8:00:00 PM" is 20:00 UTC)', async (t) => {
  t.same(opsOf(record('ImportKeyMaterial.json')), [{ kind: 'set_material_expiry', key: IMPORTED, expiry: Date.parse('2027-01-01T20:00:00Z'), eventTime: Date.parse('2026-11-20T16:08:00Z') }]);
});

t.test('ImportKeyMaterial that does not expire clears it; an unreadable validTo or unknown model changes nothing', async (t) => {
  const eventTime = Date.parse('2026-11-20T16:08:00Z');
  t.same(opsOf(record('ImportKeyMaterial.json', (r) => Object.assign(request(r), { expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', validTo: undefined }))), [{ kind: 'clear_material_expiry', key: IMPORTED, eventTime }]);
  t.same(opsOf(record('ImportKeyMaterial.json', (r) => Object.assign(request(r), { expirationModel: undefined, validTo: undefined }))), [{ kind: 'clear_material_expiry', key: IMPORTED, eventTime }], 'neither field: it does not expire');
  t.same(opsOf(record('ImportKeyMaterial.json', (r) => Object.assign(request(r), { validTo: 'soon' }))), []);
  t.same(opsOf(record('ImportKeyMaterial.json', (r) => Object.assign(request(r), { validTo: 1e308 }))), [], 'no date a gauge or a checkpoint could hold');
  t.same(opsOf(record('ImportKeyMaterial.json', (r) => Object.assign(request(r), { expirationModel: 'SOMETHING_NEW' }))), []);
});

t.test('DeleteImportedKeyMaterial, DeleteExpiredKeyMaterial (either key field) and DeleteKey clear the expiry', async (t) => {
  t.same(opsOf(record('DeleteImportedKeyMaterial.json')), [{ kind: 'clear_material_expiry', key: IMPORTED, eventTime: Date.parse('2026-11-22T15:45:08Z') }]);
  t.same(opsOf(record('DeleteExpiredKeyMaterial.json')), [{ kind: 'clear_material_expiry', key: IMPORTED, eventTime: Date.parse('2026-11-22T16:00:00Z') }]);
  t.same(opsOf(record('DeleteExpiredKeyMaterial.service-details-only.json')), [
    { kind: 'clear_material_expiry', key: { accountId: '444455556666', region: 'eu-west-1', keyId: 'c0ffee00-1a2b-4c3d-8e9f-a0b1c2d3e4f5' }, eventTime: Date.parse('2026-11-23T16:00:00Z') },
  ]);
  const deleteKey = opsOf(record('DeleteKey.json'));
  t.same(
    deleteKey.map((op) => op.kind),
    ['settle_deletion', 'clear_material_expiry'],
  );
});
