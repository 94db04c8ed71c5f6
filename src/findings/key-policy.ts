// Reads a KMS key policy the way KMS evaluates it, far enough to say who it opens the key to and whether the account keeps control.

import type { PolicyDocumentInput } from '../classify/change-details.ts';
import { principalKind } from './aws-principal.ts';
import type { Finding, FindingEvidence, FindingOptions } from './finding.ts';

type PrincipalType = 'AWS' | 'Service' | 'Federated' | 'CanonicalUser';

interface PrincipalEntry {
  readonly type: PrincipalType | '*';
  readonly value: string;
}

interface ConditionEntry {
  /** As written, e.g. `ForAnyValue:StringLike`. */
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

export interface PolicyStatement {
  readonly index: number;
  /** The Sid, or `Statement[i]` when it has none. */
  readonly label: string;
  readonly effect: 'Allow' | 'Deny';
  readonly principals: readonly PrincipalEntry[] | undefined;
  readonly notPrincipals: readonly PrincipalEntry[] | undefined;
  readonly actions: readonly string[] | undefined;
  readonly notActions: readonly string[] | undefined;
  readonly conditions: readonly ConditionEntry[];
}

export type ParsedPolicy =
  | { readonly kind: 'absent' }
  | { readonly kind: 'parsed'; readonly statements: readonly PolicyStatement[] }
  | { readonly kind: 'unparsable'; readonly reason: string };

class Malformed extends Error {}

const PRINCIPAL_TYPES: ReadonlySet<string> = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);
const MAX_REASON = 200;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown, what: string): readonly string[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw new Malformed(`${what} is an empty list`);
  return list.map((item) => {
    if (typeof item !== 'string') throw new Malformed(`${what} holds a ${item === null ? 'null' : typeof item}, not a string`);
    return item;
  });
}

function principalEntries(value: unknown, what: string): readonly PrincipalEntry[] {
  if (value === '*') return [{ type: '*', value: '*' }];
  if (!isObject(value)) throw new Malformed(`${what} is neither "*" nor an object`);
  const entries: PrincipalEntry[] = [];
  for (const [type, values] of Object.entries(value)) {
    if (!PRINCIPAL_TYPES.has(type)) throw new Malformed(`${what} has an unknown principal type ${JSON.stringify(type).slice(0, 40)}`);
    for (const item of strings(values, `${what}.${type}`)) entries.push({ type: type as PrincipalType, value: item });
  }
  if (entries.length === 0) throw new Malformed(`${what} names no principal`);
  return entries;
}

/** Condition values are strings in the grammar; KMS also accepts JSON booleans and numbers (`"Bool": {"kms:GrantIsForAWSResource": true}`). */
function conditionValues(value: unknown, what: string): readonly string[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.map((item) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'boolean' || typeof item === 'number') return String(item);
    throw new Malformed(`${what} holds a ${item === null ? 'null' : typeof item} value`);
  });
}

function conditionEntries(value: unknown, what: string): readonly ConditionEntry[] {
  if (value === undefined) return [];
  if (!isObject(value)) throw new Malformed(`${what} is not an object`);
  const entries: ConditionEntry[] = [];
  for (const [operator, block] of Object.entries(value)) {
    if (!isObject(block)) throw new Malformed(`${what}.${operator.slice(0, 40)} is not an object`);
    for (const [key, values] of Object.entries(block)) entries.push({ operator, key, values: conditionValues(values, `${what}.${operator.slice(0, 40)}`) });
  }
  return entries;
}

function statement(value: unknown, index: number): PolicyStatement {
  const where = `Statement[${index}]`;
  if (!isObject(value)) throw new Malformed(`${where} is not an object`);
  const effect = value['Effect'];
  if (effect !== 'Allow' && effect !== 'Deny') throw new Malformed(`${where}.Effect is neither "Allow" nor "Deny"`);
  const sid = value['Sid'];
  const hasPrincipal = value['Principal'] !== undefined;
  const hasNotPrincipal = value['NotPrincipal'] !== undefined;
  if (hasPrincipal === hasNotPrincipal) throw new Malformed(`${where} needs exactly one of Principal and NotPrincipal`);
  const hasAction = value['Action'] !== undefined;
  const hasNotAction = value['NotAction'] !== undefined;
  if (hasAction === hasNotAction) throw new Malformed(`${where} needs exactly one of Action and NotAction`);
  return {
    index,
    label: typeof sid === 'string' && sid !== '' ? sid : where,
    effect,
    principals: hasPrincipal ? principalEntries(value['Principal'], `${where}.Principal`) : undefined,
    notPrincipals: hasNotPrincipal ? principalEntries(value['NotPrincipal'], `${where}.NotPrincipal`) : undefined,
    actions: hasAction ? strings(value['Action'], `${where}.Action`) : undefined,
    notActions: hasNotAction ? strings(value['NotAction'], `${where}.NotAction`) : undefined,
    conditions: conditionEntries(value['Condition'], `${where}.Condition`),
  };
}

function documentOf(input: PolicyDocumentInput): unknown {
  if (input.kind === 'object') return input.value;
  if (input.kind === 'absent') return undefined;
  try {
    return JSON.parse(input.text) as unknown;
  } catch (error) {
    throw new Malformed(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Never throws: a policy KMS would reject, or that we cannot read, is `unparsable` with the reason. */
export function parsePolicy(input: PolicyDocumentInput): ParsedPolicy {
  if (input.kind === 'absent') return { kind: 'absent' };
  try {
    const document = documentOf(input);
    if (!isObject(document)) throw new Malformed('the policy is not a JSON object');
    const raw = document['Statement'];
    if (raw === undefined) throw new Malformed('the policy has no Statement');
    const list = Array.isArray(raw) ? (raw as unknown[]) : isObject(raw) ? [raw] : undefined;
    if (list === undefined) throw new Malformed('Statement is neither an object nor a list');
    return { kind: 'parsed', statements: list.map((s, i) => statement(s, i)) };
  } catch (error) {
    const reason = error instanceof Malformed ? error.message : `unreadable (${error instanceof Error ? error.name : 'error'})`;
    return { kind: 'unparsable', reason: reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason };
  }
}

// ---- actions ----------------------------------------------------------------------------------------

/**
 * IAM action matching: case-insensitive, `*` any run of characters, `?` one character. Linear in
 * pattern × action (the classic two-pointer glob), since a policy is attacker-written text and a
 * regular expression built from `*a*a*a…` backtracks exponentially.
 */
export function actionMatches(pattern: string, action: string): boolean {
  const p = pattern.toLowerCase();
  const a = action.toLowerCase();
  let pi = 0;
  let ai = 0;
  let star = -1;
  let resume = 0;
  while (ai < a.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === a[ai])) {
      pi += 1;
      ai += 1;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi;
      resume = ai;
      pi += 1;
    } else if (star !== -1) {
      pi = star + 1;
      resume += 1;
      ai = resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi += 1;
  return pi === p.length;
}

function covers(statement: PolicyStatement, action: string): boolean {
  if (statement.actions !== undefined) return statement.actions.some((pattern) => actionMatches(pattern, action));
  return !(statement.notActions ?? []).some((pattern) => actionMatches(pattern, action));
}

function actionsOf(statement: PolicyStatement): readonly string[] {
  return statement.actions ?? (statement.notActions ?? []).map((a) => `NotAction ${a}`);
}

// ---- conditions that pin the caller ------------------------------------------------------------------

const ACCOUNT_KEYS: ReadonlySet<string> = new Set(['kms:calleraccount', 'aws:principalaccount', 'aws:sourceaccount']);
const ORG_ID_KEYS: ReadonlySet<string> = new Set(['aws:principalorgid', 'aws:sourceorgid']);
const ORG_PATH_KEYS: ReadonlySet<string> = new Set(['aws:principalorgpaths', 'aws:sourceorgpaths']);
const ARN_KEYS: ReadonlySet<string> = new Set(['aws:principalarn', 'aws:sourcearn']);
const POSITIVE_OPERATORS: ReadonlySet<string> = new Set(['stringequals', 'stringequalsignorecase', 'stringlike', 'arnequals', 'arnlike']);
const ACCOUNT = /^\d{12}$/;
const WILDCARD = /[*?]|\$\{/;

export const PINNING_CONDITIONS = 'kms:CallerAccount, aws:PrincipalAccount, aws:PrincipalOrgID, aws:SourceAccount, aws:SourceArn or aws:PrincipalArn naming the key\'s own account or organisation';

export interface TrustContext {
  readonly keyAccountId: string | undefined;
  /** The key's partition (aws, aws-cn, aws-us-gov…), for the root ARN the evidence names. */
  readonly partition: string;
  readonly options: FindingOptions;
}

/** The key's own account and the configured organisation; with neither known, any account is given the benefit of the doubt. */
export function trusted(account: string, context: TrustContext): boolean {
  if (context.keyAccountId === undefined && context.options.organisationAccounts.size === 0) return true;
  return account === context.keyAccountId || context.options.organisationAccounts.has(account);
}

/**
 * A condition pins only when it must be present and match: a positive String/Arn operator, plain or
 * ForAnyValue (both false when the key is absent); IfExists and ForAllValues hold when the key is
 * absent, and negated operators leave everything else open.
 */
function pinningOperator(operator: string): boolean {
  let base = operator.toLowerCase();
  if (base.startsWith('forallvalues:')) return false;
  if (base.startsWith('foranyvalue:')) base = base.slice('foranyvalue:'.length);
  if (base.endsWith('ifexists')) return false;
  return POSITIVE_OPERATORS.has(base);
}

function arnAccountTrusted(value: string, context: TrustContext): boolean {
  const fields = value.split(':');
  if (fields.length < 6 || fields[0] !== 'arn') return false;
  const account = fields[4] as string;
  // ArnLike matches field by field, so a wildcard region (`arn:aws:cloudtrail:*:111122223333:trail/*`) keeps the account.
  // StringLike's `*` crosses colons; a wildcard region is still accepted there, since no principal or
  // source ARN embeds ":<account>:" in its resource part, but a wildcard before the region is not.
  if ([fields[1], fields[2], account].some((field) => WILDCARD.test(field ?? ''))) return false;
  return ACCOUNT.test(account) && trusted(account, context);
}

function valuePins(key: string, value: string, context: TrustContext): boolean {
  const organisationId = context.options.organisationId;
  if (ACCOUNT_KEYS.has(key)) return ACCOUNT.test(value) && trusted(value, context);
  if (ORG_ID_KEYS.has(key)) return organisationId !== undefined && value === organisationId;
  if (ORG_PATH_KEYS.has(key)) return organisationId !== undefined && !WILDCARD.test(value.split('/')[0] ?? '') && value.startsWith(`${organisationId}/`);
  if (ARN_KEYS.has(key)) return arnAccountTrusted(value, context);
  return false;
}

interface PinVerdict {
  readonly pinned: boolean;
  /** Caller-pinning conditions that were present but name something outside the account and organisation. */
  readonly foreign: readonly string[];
}

/** Conditions are ANDed: one pinning condition whose every value is trusted pins the statement. */
export function pinVerdict(statement: PolicyStatement, context: TrustContext): PinVerdict {
  const foreign: string[] = [];
  for (const condition of statement.conditions) {
    const key = condition.key.toLowerCase();
    if (!ACCOUNT_KEYS.has(key) && !ORG_ID_KEYS.has(key) && !ORG_PATH_KEYS.has(key) && !ARN_KEYS.has(key)) continue;
    const operatorPins = pinningOperator(condition.operator);
    if (operatorPins && condition.values.every((value) => valuePins(key, value, context))) return { pinned: true, foreign: [] };
    foreign.push(`${condition.operator} ${condition.key} ${condition.values.join(', ')}`.slice(0, 200));
  }
  return { pinned: false, foreign };
}

// ---- findings ----------------------------------------------------------------------------------------

function describe(entry: PrincipalEntry): string {
  return entry.type === '*' ? '*' : `${entry.type}:${entry.value}`;
}

function isWildcard(entry: PrincipalEntry): boolean {
  return entry.value.trim() === '*';
}

function publicFinding(statement: PolicyStatement, principal: string, verdict: PinVerdict): Finding {
  const evidence: FindingEvidence = {
    statement: statement.label,
    principal,
    actions: actionsOf(statement),
    missingCondition: PINNING_CONDITIONS,
    detail:
      verdict.foreign.length === 0
        ? `${statement.label} allows ${principal} with no condition pinning the caller to the key's account or organisation`
        : `${statement.label} allows ${principal}, pinned only outside the key's account and organisation (${verdict.foreign.join('; ')})`,
  };
  return { name: 'key_policy_public', evidence };
}

function exposureFindings(statement: PolicyStatement, context: TrustContext): Finding[] {
  if (statement.effect !== 'Allow') return [];
  const verdict = pinVerdict(statement, context);
  if (verdict.pinned) return [];
  if (statement.notPrincipals !== undefined) {
    // Allow with NotPrincipal allows everyone but the listed principals.
    return [publicFinding(statement, `NotPrincipal ${statement.notPrincipals.map(describe).join(', ')}`, verdict)];
  }
  const findings: Finding[] = [];
  const principals = statement.principals ?? [];
  if (principals.some(isWildcard)) findings.push(publicFinding(statement, '*', verdict));
  for (const entry of principals) {
    if (isWildcard(entry) || (entry.type !== 'AWS' && entry.type !== 'Federated')) continue;
    const kind = principalKind(entry.value);
    if (kind.kind !== 'account_root' && kind.kind !== 'account_principal') continue;
    if (trusted(kind.account, context)) continue;
    findings.push({
      name: 'key_policy_external_account',
      evidence: {
        statement: statement.label,
        principal: entry.value,
        account: kind.account,
        actions: actionsOf(statement),
        missingCondition: 'the account in the organisation accounts',
        detail: `${statement.label} allows ${entry.value} of account ${kind.account}, which is neither the key's account nor in the organisation`,
      },
    });
  }
  return findings;
}

function namesRoot(entries: readonly PrincipalEntry[], account: string): boolean {
  return entries.some((entry) => {
    if (isWildcard(entry)) return true;
    if (entry.type !== 'AWS') return false;
    const kind = principalKind(entry.value);
    return kind.kind === 'account_root' && kind.account === account;
  });
}

/** Whether the statement applies to the account root (NotPrincipal: unless it lists the root). */
function appliesToRoot(statement: PolicyStatement, account: string): boolean {
  if (statement.principals !== undefined) return namesRoot(statement.principals, account);
  return !namesRoot(statement.notPrincipals ?? [], account);
}

/**
 * Lock-out: after the change no statement lets the account root (and through it the account's IAM
 * policies) call kms:PutKeyPolicy, or an unconditional Deny stops it. An Allow counts whatever its
 * conditions (we cannot evaluate them, and must not page on a narrowed administrator statement); a Deny
 * counts only unconditioned, for the same reason.
 */
function lockoutFinding(statements: readonly PolicyStatement[], account: string, partition: string): Finding | undefined {
  const root = `arn:${partition}:iam::${account}:root`;
  const deny = statements.find((s) => s.effect === 'Deny' && s.conditions.length === 0 && covers(s, 'kms:PutKeyPolicy') && appliesToRoot(s, account));
  if (deny !== undefined) {
    return {
      name: 'key_policy_lockout',
      evidence: { statement: deny.label, principal: root, actions: actionsOf(deny), detail: `${deny.label} denies the account ${account} kms:PutKeyPolicy on this key` },
    };
  }
  const allowed = statements.some((s) => s.effect === 'Allow' && covers(s, 'kms:PutKeyPolicy') && appliesToRoot(s, account));
  if (allowed) return undefined;
  return {
    name: 'key_policy_lockout',
    evidence: {
      principal: root,
      missingCondition: `an Allow of kms:PutKeyPolicy to ${root}`,
      detail: `no statement lets the account ${account} (its root, and through it IAM policies) call kms:PutKeyPolicy on this key`,
    },
  };
}

/** Never throws. The findings a key policy raises for a key in `keyAccountId`. */
export function keyPolicyFindings(input: PolicyDocumentInput, context: TrustContext): readonly Finding[] {
  const parsed = parsePolicy(input);
  if (parsed.kind === 'absent') return [];
  if (parsed.kind === 'unparsable') return [{ name: 'key_policy_unparsable', evidence: { detail: `the key policy could not be read: ${parsed.reason}` } }];
  const findings = parsed.statements.flatMap((s) => exposureFindings(s, context));
  if (context.keyAccountId !== undefined) {
    const lockout = lockoutFinding(parsed.statements, context.keyAccountId, context.partition);
    if (lockout !== undefined) findings.push(lockout);
  }
  return findings;
}
