// The canonical policy text: one text for one meaning, so the log store can diff a key's policies.
import t from 'tap';
import { canonicalPolicy } from '../../src/findings/canonical-policy.ts';
import { keyPolicyFixture } from '../support/key-policy-record.ts';

const text = (value: string) => ({ kind: 'text', text: value }) as const;

t.test('sorted keys, lists for single values, statements kept in their order', async (t) => {
  const written = '{"Version":"2012-10-17","Statement":{"Sid":"B","Resource":"*","Action":"kms:Decrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}}';
  t.equal(
    canonicalPolicy(text(written)),
    '{"Statement":[{"Action":["kms:Decrypt"],"Condition":{"StringEquals":{"kms:CallerAccount":["111122223333"]}},"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Resource":["*"],"Sid":"B"}],"Version":"2012-10-17"}',
  );
});

t.test('the same policy written two ways has one canonical text', async (t) => {
  const pretty = keyPolicyFixture('cloudwatch-logs.json');
  const reordered = JSON.stringify({
    Statement: [
      { Resource: '*', Action: 'kms:*', Principal: { AWS: ['arn:aws:iam::111122223333:root'] }, Effect: 'Allow', Sid: 'Enable IAM User Permissions' },
      { Resource: ['*'], Action: ['kms:Describe*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*', 'kms:Decrypt*', 'kms:Encrypt*'], Principal: { Service: 'logs.us-east-1.amazonaws.com' }, Effect: 'Allow' },
    ],
    Id: 'key-default-1',
    Version: '2012-10-17',
  });
  t.equal(canonicalPolicy(text(reordered)), canonicalPolicy(text(pretty)));
});

t.test('no policy, or not JSON: undefined, never a throw', async (t) => {
  t.equal(canonicalPolicy({ kind: 'absent' }), undefined);
  t.equal(canonicalPolicy(text(keyPolicyFixture('attacker-unparsable-truncated.json'))), undefined);
  t.equal(canonicalPolicy(text('['.repeat(5000) + ']'.repeat(5000))), undefined, 'nesting deeper than any policy');
});
