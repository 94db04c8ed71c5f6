// The expectations file (--expectations): YAML validated with zod, every problem reported as file:line:col: path: reason.

import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import type { Category } from '../catalog/kms-events.ts';
import { CATALOG, CATALOG_EVENT_NAMES } from '../catalog/kms-events.ts';
import { PRINCIPAL_TYPES } from '../classify/principal.ts';
import type { YamlFileSpec } from '../yaml-file.ts';
import { loadYamlFile, parseYamlFile, quoted } from '../yaml-file.ts';
import type { ExpectationRules, ExpectationRuleSpec } from './expectation-rules.ts';
import { compileRules } from './expectation-rules.ts';

export const EXPECTATIONS_FLAG = '--expectations';
export const EXPECTATIONS_ENV = 'KMS_EXPORTER_EXPECTATIONS_FILE';

const CATEGORIES: readonly Category[] = [...new Set(CATALOG.map((entry) => entry.category))];
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
// Rule names travel in log events and may become a bounded label value: keep them plain.
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SESSION_PATTERN = /^arn:([^:]*):sts::([^:]*):assumed-role\/([^/]*)/;
// A key reference: a key id (uuid or mrk-), a key ARN, an alias name or an alias ARN; wildcards allowed anywhere.
const KEY_REFERENCE = /^(?:alias\/.+|arn:[^:]*:kms:[^:]*:[^:]*:(?:key|alias)\/.+|arn:[^:]*:kms:.*\*.*|(?:mrk-)?[0-9a-f*?-]+)$/;

/** A string checked by `problem`, which returns the one message for a bad value (or undefined when it is good). */
const checked = (what: string, problem: (value: string) => string | undefined): z.ZodType<string> =>
  z.string({ error: `expected ${what} as a string` }).superRefine((value, context) => {
    const message = value === '' ? `expected ${what}, got an empty string` : problem(value);
    if (message !== undefined) context.addIssue({ code: 'custom', message });
  });

const oneOf = (values: readonly string[]) => (value: string) => (values.includes(value) ? undefined : `expected one of ${values.join(', ')}, got ${quoted(value)}`);

const list = <T extends z.ZodType>(item: T) => z.array(item).min(1, { error: 'must list at least one value (leave the field out to match any)' });

const eventName = checked('an event name', (value) =>
  CATALOG_EVENT_NAMES.has(value) ? undefined : `${quoted(value)} is not a KMS change event in the catalog (see the README's event table)`,
);

const category = checked('a category', oneOf(CATEGORIES));

const principalType = checked('a principal type', oneOf(PRINCIPAL_TYPES));

const principal = checked('an ARN pattern', (value) => {
  const session = SESSION_PATTERN.exec(value);
  if (session !== null) {
    const [, partition, account, role] = session as unknown as [string, string, string, string];
    // The session name is chosen by whoever assumes the role: matching on it would let anyone who can assume a role pick the rule.
    return `an assumed-role session matches by its role whatever the session name: write arn:${partition}:iam::${account}:role/${role === '' ? 'ROLE' : role}, got ${quoted(value)}`;
  }
  if (/\s/.test(value) || !(value === '*' || value.startsWith('arn:') || value.endsWith('.amazonaws.com'))) {
    return `expected an ARN pattern (arn:...) or an AWS service principal (*.amazonaws.com), got ${quoted(value)}`;
  }
  return undefined;
});

const invokedBy = checked('an AWS service pattern', (value) =>
  /^[a-z0-9*?.-]+$/.test(value) ? undefined : `expected an AWS service name pattern such as *.amazonaws.com, got ${quoted(value)}`,
);

const account = checked('a 12-digit AWS account id', (value) => (ACCOUNT.test(value) ? undefined : `expected a 12-digit AWS account id, got ${quoted(value)}`));

const region = checked('an AWS region', (value) => (REGION.test(value) ? undefined : `expected an AWS region such as eu-west-1, got ${quoted(value)}`));

const sourceIp = checked('an IP address or CIDR range', rangeProblem);

// User agents have spaces ("APN/1.0 HashiCorp/1.0 Terraform/1.9.8"): any non-empty pattern.
const userAgent = checked('a user agent pattern', () => undefined);

const key = checked('a key id, key ARN or alias', (value) =>
  !/\s/.test(value) && KEY_REFERENCE.test(value) ? undefined : `expected a key id, key ARN, alias name (alias/...) or alias ARN, got ${quoted(value)}`,
);

const MATCH_FIELDS = ['eventNames', 'categories', 'principals', 'principalTypes', 'invokedBy', 'accounts', 'regions', 'sourceIps', 'userAgents', 'console', 'keys'] as const;

const matchSchema = z
  .strictObject({
    eventNames: list(eventName).optional(),
    categories: list(category).optional(),
    principals: list(principal).optional(),
    principalTypes: list(principalType).optional(),
    invokedBy: list(invokedBy).optional(),
    accounts: list(account).optional(),
    regions: list(region).optional(),
    sourceIps: list(sourceIp).optional(),
    userAgents: list(userAgent).optional(),
    console: z.boolean().optional(),
    keys: list(key).optional(),
  })
  .refine((match) => Object.keys(match).length > 0, {
    // Only for a truly empty match: one whose only keys are misspelt already has its message.
    when: (payload) => payload.issues.length === 0,
    error: `needs at least one of ${MATCH_FIELDS.join(', ')}: a rule that matches every change would mark them all expected`,
  });

const ruleSchema = z.strictObject({
  name: checked('a rule name', (value) => (RULE_NAME.test(value) ? undefined : `expected a name of letters, digits, "_", "." or "-" (at most 64), got ${quoted(value)}`)),
  description: z.string().optional(),
  match: matchSchema,
});

const fileSchema = z.strictObject({
  rules: z.array(ruleSchema).superRefine((rules, context) => {
    const seen = new Set<string>();
    rules.forEach((rule, index) => {
      if (seen.has(rule.name)) context.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate rule name ${quoted(rule.name)}: names identify the rule in log events` });
      seen.add(rule.name);
    });
  }),
});

/** Why a sourceIps entry is not a usable range, or undefined when it is one. */
function rangeProblem(value: string): string | undefined {
  const [address = '', bits, ...rest] = value.split('/');
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(address);
  if (rest.length > 0 || !(v4 || ipaddr.IPv6.isValid(address))) return `expected an IPv4 or IPv6 address or CIDR range, got ${quoted(value)}`;
  if (bits === undefined) return undefined;
  const max = v4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `expected a prefix length from 0 to ${max}, got ${quoted(value)}`;
  // A range written with host bits set (10.1.2.3/8) is almost always a typo for another range.
  const network = (v4 ? ipaddr.IPv4 : ipaddr.IPv6).networkAddressFromCIDR(value).toString();
  if (network !== ipaddr.parse(address).toString()) return `${quoted(value)} has host bits set: did you mean "${network}/${bits}"?`;
  return undefined;
}

const SPEC: YamlFileSpec<z.infer<typeof fileSchema>> = {
  flag: EXPECTATIONS_FLAG,
  env: EXPECTATIONS_ENV,
  schema: fileSchema,
  rootDescription: 'a mapping with a "rules" list',
  knownKeys: (path) => (path.length === 0 ? ['rules'] : path[path.length - 1] === 'match' ? [...MATCH_FIELDS] : ['name', 'description', 'match']),
};

/** Parses and validates the text of an expectations file; `file` names it in every message. Throws a ConfigError listing every problem. */
export function parseExpectations(text: string, file: string): ExpectationRules {
  return compileRules(parseYamlFile(text, file, SPEC).rules as readonly ExpectationRuleSpec[]);
}

/** Reads and validates the expectations file at `path`. */
export function loadExpectations(path: string): ExpectationRules {
  return compileRules(loadYamlFile(path, SPEC).rules as readonly ExpectationRuleSpec[]);
}
