// The expectations file (--expectations): YAML validated with zod, every problem reported as file:line:col: path: reason.

import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import type { Category } from '../catalog/kms-events.ts';
import { CATALOG, CATALOG_EVENT_NAMES } from '../catalog/kms-events.ts';
import { PRINCIPAL_TYPES } from '../classify/principal.ts';
import { ConfigError } from '../errors.ts';
import type { ExpectationRules, ExpectationRuleSpec } from './expectation-rules.ts';
import { compileRules } from './expectation-rules.ts';

export const EXPECTATIONS_FLAG = '--expectations';
export const EXPECTATIONS_ENV = 'KMS_EXPORTER_EXPECTATIONS_FILE';

/** More problems than this in one file are summarised: a person fixes the first ones first. */
const MAX_REPORTED = 20;

const CATEGORIES: readonly Category[] = [...new Set(CATALOG.map((entry) => entry.category))];
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
// Rule names travel in log events and may become a bounded label value: keep them plain.
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SESSION_PATTERN = /^arn:([^:]*):sts::([^:]*):assumed-role\/([^/]*)/;
// A key reference: a key id (uuid or mrk-), a key ARN, an alias name or an alias ARN; wildcards allowed anywhere.
const KEY_REFERENCE = /^(?:alias\/.+|arn:[^:]*:kms:[^:]*:[^:]*:(?:key|alias)\/.+|arn:[^:]*:kms:.*\*.*|(?:mrk-)?[0-9a-f*?-]+)$/;

function quoted(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

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

interface Problem {
  readonly offset: number;
  readonly text: string;
}

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? String(part) : `.${String(part)}`;
  return text;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Readonly<Record<string, string>> = { array: 'a list', object: 'a mapping', string: 'a string', boolean: 'true or false' };

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  return value;
}

/** Where a path's node starts; for a missing node, where its nearest present parent starts. */
function offsetOf(document: Document, path: readonly PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = document.getIn(path.slice(0, depth) as (string | number)[], true);
    if (node !== undefined && node !== null && typeof node === 'object' && 'range' in node) {
      const range = (node as { range?: [number, number, number] | null }).range;
      if (range) return range[0];
    }
  }
  return 0;
}

/** The key node of `key` in the mapping at `path`, so an unknown key is reported where it is written. */
function keyOffset(document: Document, path: readonly PropertyKey[], key: string): number {
  const node = path.length === 0 ? document.contents : document.getIn(path as (string | number)[], true);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && pair.key.value === key && pair.key.range) return pair.key.range[0];
    }
  }
  return offsetOf(document, path);
}

function describeIssue(issue: z.core.$ZodIssue, document: Document, value: unknown): Problem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = path.length === 0 ? ['rules'] : path[path.length - 1] === 'match' ? [...MATCH_FIELDS] : ['name', 'description', 'match'];
    return issue.keys.map((key) => ({
      offset: keyOffset(document, path, key),
      text: `${pathText([...path, key])}: unknown key ${quoted(key)} (expected ${known.join(', ')})`,
    }));
  }
  const at = pathText(path);
  const prefix = at === '' ? '' : `${at}: `;
  if (issue.code === 'invalid_type') {
    const actual = valueAt(value, path);
    const expected = path.length === 0 ? 'a mapping with a "rules" list' : (EXPECTED[issue.expected] ?? issue.expected);
    const text = actual === undefined && path.length > 0 ? 'is required' : `expected ${expected}, got ${typeName(actual)}`;
    return [{ offset: offsetOf(document, path), text: `${prefix}${text}` }];
  }
  return [{ offset: offsetOf(document, path), text: `${prefix}${issue.message}` }];
}

/**
 * YAML reads an unquoted 012345678901 as the number 12345678901: an account id written
 * plain keeps the digits as written, leading zeros included.
 */
function keepAccountDigits(document: Document): void {
  visit(document, {
    Pair(_, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || pair.key.value !== 'accounts' || !isSeq(pair.value)) return;
      for (const item of pair.value.items) {
        if (isScalar(item) && typeof item.value === 'number' && item.type === 'PLAIN' && typeof item.source === 'string' && /^\d+$/.test(item.source)) item.value = item.source;
      }
    },
  });
}

function fail(reason: string): never {
  throw new ConfigError(EXPECTATIONS_FLAG, EXPECTATIONS_ENV, reason);
}

/** Parses and validates the text of an expectations file; `file` names it in every message. Throws a ConfigError listing every problem. */
export function parseExpectations(text: string, file: string): ExpectationRules {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const report = (problems: readonly Problem[]): never => {
    const sorted = [...problems].sort((a, b) => a.offset - b.offset);
    const lines = sorted.slice(0, MAX_REPORTED).map((problem) => `${where(problem.offset)}: ${problem.text}`);
    if (sorted.length > MAX_REPORTED) lines.push(`... and ${sorted.length - MAX_REPORTED} more problem(s)`);
    return fail(lines.join('\n'));
  };

  if (document.errors.length > 0) report(document.errors.map((error) => ({ offset: error.pos[0], text: `not valid YAML: ${error.message}` })));
  keepAccountDigits(document);
  let value: unknown;
  try {
    // The alias cap keeps a "billion laughs" file from expanding without bound.
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    report([{ offset: 0, text: `not valid YAML: ${error instanceof Error ? error.message : String(error)}` }]);
  }
  if (value === null || value === undefined) report([{ offset: 0, text: 'expected a mapping with a "rules" list, got an empty file' }]);
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) report(parsed.error.issues.flatMap((issue) => describeIssue(issue, document, value)));
  return compileRules((parsed.data?.rules ?? []) as readonly ExpectationRuleSpec[]);
}

/** Reads and validates the expectations file at `path`. */
export function loadExpectations(path: string): ExpectationRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error);
    return fail(`${path}: cannot read the file (${code})`);
  }
  return parseExpectations(text, path);
}
