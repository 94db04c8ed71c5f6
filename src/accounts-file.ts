// The accounts file (--accounts): account ids → name, environment and owner, and the organisation the "external" findings measure against.
//
// Two shapes are read: our own
//
//   organizationId: o-a1b2c3d4e5        # optional
//   accounts:
//     "111122223333": { name: payments-prod, environment: production, owner: payments-team }
//
// and the output of `aws organizations list-accounts` as it is ({"Accounts": [{"Id", "Name", ...}]}),
// which names accounts but has no environment or owner.

import { z } from 'zod';
import type { YamlFileSpec } from './yaml-file.ts';
import { parseYamlFile, quoted, readSettingsFile } from './yaml-file.ts';

export const ACCOUNTS_FLAG = '--accounts';
export const ACCOUNTS_ENV = 'KMS_EXPORTER_ACCOUNTS_FILE';

/** One series of kms_aws_account_info per account: an organisation's worth, not an unbounded label. */
export const MAX_ACCOUNTS = 10_000;

export interface AccountInfo {
  readonly name: string;
  /** '' when the file does not say (the label is then absent, as Prometheus treats an empty value). */
  readonly environment: string;
  readonly owner: string;
}

export interface AccountDirectory {
  readonly organizationId: string | undefined;
  readonly accounts: ReadonlyMap<string, AccountInfo>;
}

export const NO_ACCOUNTS: AccountDirectory = Object.freeze({ organizationId: undefined, accounts: new Map<string, AccountInfo>() });

const ACCOUNT = /^\d{12}$/;
// AWS Organizations ids: o- and 10 to 32 lower-case letters or digits.
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/;

// Label values: printable, bounded, no line breaks (they are shown in alert descriptions).
const labelValue = (what: string) =>
  z.string({ error: `expected ${what} as a string` }).superRefine((value, context) => {
    if (value.trim() === '' || value.length > 128 || /[\u0000-\u001f\u007f]/.test(value)) {
      context.addIssue({ code: 'custom', message: `expected ${what} of 1 to 128 printable characters, got ${quoted(value)}` });
    }
  });

const accountSchema = z.strictObject({
  name: labelValue('an account name'),
  environment: labelValue('an environment').optional(),
  owner: labelValue('an owner').optional(),
});

const organizationId = z.string({ error: 'expected an AWS Organizations id as a string' }).superRefine((value, context) => {
  if (!ORGANIZATION.test(value)) context.addIssue({ code: 'custom', message: `expected an AWS Organizations id such as o-a1b2c3d4e5, got ${quoted(value)}` });
});

function checkAccountIds(ids: readonly string[], context: z.RefinementCtx, at: (index: number, id: string) => PropertyKey[], params?: { at: 'key' }): void {
  ids.forEach((id, index) => {
    if (!ACCOUNT.test(id)) context.addIssue({ code: 'custom', path: at(index, id), message: `expected a 12-digit AWS account id, got ${quoted(id)}`, ...(params === undefined ? {} : { params }) });
  });
  if (ids.length > MAX_ACCOUNTS) context.addIssue({ code: 'custom', path: [], message: `lists ${ids.length} accounts, more than ${MAX_ACCOUNTS}` });
}

const ownSchema = z.strictObject({
  organizationId: organizationId.optional(),
  accounts: z.record(z.string(), accountSchema).superRefine((accounts, context) => checkAccountIds(Object.keys(accounts), context, (_index, id) => [id], { at: 'key' })),
});

// `aws organizations list-accounts`: AWS adds fields over time (State, JoinedMethod...), so only Id and Name are read.
const listAccountsSchema = z.object({
  Accounts: z
    .array(z.object({ Id: z.string({ error: 'expected the account id as a string' }), Name: labelValue('an account name') }))
    .superRefine((accounts, context) => {
      checkAccountIds(accounts.map((account) => account.Id), context, (index) => [index, 'Id']);
      const seen = new Set<string>();
      accounts.forEach((account, index) => {
        if (seen.has(account.Id)) context.addIssue({ code: 'custom', path: [index, 'Id'], message: `account ${account.Id} is listed twice` });
        seen.add(account.Id);
      });
    }),
});

const OWN: YamlFileSpec<z.infer<typeof ownSchema>> = {
  flag: ACCOUNTS_FLAG,
  env: ACCOUNTS_ENV,
  schema: ownSchema,
  rootDescription: 'a mapping with an "accounts" mapping (or the output of aws organizations list-accounts)',
  knownKeys: (path) => (path.length === 0 ? ['organizationId', 'accounts'] : ['name', 'environment', 'owner']),
};

const LIST_ACCOUNTS: YamlFileSpec<z.infer<typeof listAccountsSchema>> = {
  flag: ACCOUNTS_FLAG,
  env: ACCOUNTS_ENV,
  schema: listAccountsSchema,
  rootDescription: 'the output of aws organizations list-accounts',
  knownKeys: () => ['Accounts'],
};

function directory(organizationId: string | undefined, entries: Iterable<[string, AccountInfo]>): AccountDirectory {
  return Object.freeze({ organizationId, accounts: new Map(entries) });
}

/** Parses and validates the text of an accounts file; `file` names it in every message. Throws a ConfigError listing every problem. */
export function parseAccounts(text: string, file: string): AccountDirectory {
  // Which shape: list-accounts output is JSON with a top-level "Accounts" key.
  if (/^\s*\{\s*"Accounts"\s*:/.test(text)) {
    const parsed = parseYamlFile(text, file, LIST_ACCOUNTS);
    return directory(
      undefined,
      parsed.Accounts.map(({ Id, Name }): [string, AccountInfo] => [Id, { name: Name, environment: '', owner: '' }]),
    );
  }
  const parsed = parseYamlFile(text, file, OWN);
  return directory(
    parsed.organizationId,
    Object.entries(parsed.accounts).map(([id, info]): [string, AccountInfo] => [id, { name: info.name, environment: info.environment ?? '', owner: info.owner ?? '' }]),
  );
}

/** Reads and validates the accounts file at `path`. */
export function loadAccounts(path: string): AccountDirectory {
  return parseAccounts(readSettingsFile(path, ACCOUNTS_FLAG, ACCOUNTS_ENV), path);
}
