import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAccounts, parseAccounts } from '../src/accounts-file.ts';
import { ConfigError } from '../src/errors.ts';

function problem(text: string): string {
  try {
    parseAccounts(text, 'accounts.yml');
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return 'no error';
}

t.test('the shipped example: names, environments, owners and the organisation', async (t) => {
  const directory = loadAccounts(new URL('../examples/accounts.yml', import.meta.url).pathname);
  t.equal(directory.organizationId, 'o-a1b2c3d4e5');
  t.same(directory.accounts.get('111122223333'), { name: 'payments-prod', environment: 'production', owner: 'payments-team' });
  t.equal(directory.accounts.size, 3);
});

t.test('account ids keep their digits, quoted or not, leading zeros included', async (t) => {
  const directory = parseAccounts('accounts:\n  012345678901: { name: a }\n  "111122223333": { name: b }\n', 'accounts.yml');
  t.same([...directory.accounts.keys()], ['012345678901', '111122223333']);
  t.same(directory.accounts.get('012345678901'), { name: 'a', environment: '', owner: '' });
});

t.test('aws organizations list-accounts output is read as it is', async (t) => {
  const listed = JSON.stringify({
    Accounts: [
      { Id: '111122223333', Arn: 'arn:aws:organizations::999988887777:account/o-a1b2c3d4e5/111122223333', Email: 'a@example.com', Name: 'payments-prod', Status: 'ACTIVE', JoinedMethod: 'CREATED', JoinedTimestamp: '2024-01-01T00:00:00Z' },
      { Id: '444455556666', Name: 'sandbox', Status: 'ACTIVE' },
    ],
  }, null, 2);
  const directory = parseAccounts(listed, 'accounts.json');
  t.equal(directory.organizationId, undefined);
  t.same(Object.fromEntries(directory.accounts), { '111122223333': { name: 'payments-prod', environment: '', owner: '' }, '444455556666': { name: 'sandbox', environment: '', owner: '' } });
  t.equal(
    problem('{"Accounts": [{"Id": "1234", "Name": "x"}, {"Id": "1234", "Name": "y"}]}'),
    'invalid --accounts (KMS_EXPORTER_ACCOUNTS_FILE): accounts.yml:1:22: Accounts[0].Id: expected a 12-digit AWS account id, got "1234"\naccounts.yml:1:51: Accounts[1].Id: expected a 12-digit AWS account id, got "1234"\naccounts.yml:1:51: Accounts[1].Id: account 1234 is listed twice',
  );
});

t.test('every problem is named with its line, column and path, in file order', async (t) => {
  const prefix = 'invalid --accounts (KMS_EXPORTER_ACCOUNTS_FILE): ';
  t.equal(problem(''), `${prefix}accounts.yml:1:1: expected a mapping with an "accounts" mapping (or the output of aws organizations list-accounts), got an empty file`);
  t.equal(problem('accounts: [1, 2]\n'), `${prefix}accounts.yml:1:11: accounts: expected a mapping, got a list`);
  t.equal(problem('organisationId: o-abc\naccounts: {}\n'), `${prefix}accounts.yml:1:1: organisationId: unknown key "organisationId" (expected organizationId, accounts)`);
  t.equal(problem('organizationId: org-1\naccounts: {}\n'), `${prefix}accounts.yml:1:17: organizationId: expected an AWS Organizations id such as o-a1b2c3d4e5, got "org-1"`);
  t.equal(
    problem('accounts:\n  "11112222333": { name: short }\n  "111122223333":\n    name: ""\n    team: x\n'),
    `${prefix}accounts.yml:2:3: accounts: expected a 12-digit AWS account id, got "11112222333"\naccounts.yml:4:11: accounts.111122223333.name: expected an account name of 1 to 128 printable characters, got ""\naccounts.yml:5:5: accounts.111122223333.team: unknown key "team" (expected name, environment, owner)`,
  );
  t.equal(problem('accounts:\n  "111122223333": { environment: prod }\n'), `${prefix}accounts.yml:2:19: accounts.111122223333.name: is required`);
  t.match(problem('accounts: {a: [\n'), /^invalid --accounts \(KMS_EXPORTER_ACCOUNTS_FILE\): accounts\.yml:\d+:\d+: not valid YAML: /);
});

t.test('a file that cannot be read names the setting and the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-'));
  t.throws(() => loadAccounts(join(dir, 'missing.yml')), { message: `invalid --accounts (KMS_EXPORTER_ACCOUNTS_FILE): ${join(dir, 'missing.yml')}: cannot read the file (ENOENT)` });
  const many = join(dir, 'many.yml');
  writeFileSync(many, `accounts:\n${Array.from({ length: 10_001 }, (_, i) => `  "${String(i).padStart(12, '0')}": { name: a${i} }`).join('\n')}\n`);
  t.throws(() => loadAccounts(many), { message: /accounts: lists 10001 accounts, more than 10000$/ });
});
