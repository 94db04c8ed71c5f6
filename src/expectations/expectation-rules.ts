// Expected changes: compiled rules and the total function that finds the first rule a change matches.

import ipaddr from 'ipaddr.js';
import type { Category } from '../catalog/kms-events.ts';
import type { KeyIdentity } from '../classify/key-identity.ts';
import { partitionOf } from '../classify/key-identity.ts';
import type { KmsChange } from '../classify/kms-change.ts';
import type { Principal, PrincipalType } from '../classify/principal.ts';
import type { Wildcard } from './wildcard.ts';
import { compileWildcard } from './wildcard.ts';

/** What a rule's `match` says, as validated from the file: every given field must match (AND), any value within a field (OR). */
export interface ExpectationMatch {
  readonly eventNames?: readonly string[];
  readonly categories?: readonly Category[];
  /** ARN patterns; an assumed-role session matches by its role (with or without the role's path). */
  readonly principals?: readonly string[];
  readonly principalTypes?: readonly PrincipalType[];
  /**
   * Patterns on userIdentity.invokedBy: the AWS service that made the call, on its own or
   * on a caller's behalf (EBS creating a grant while bob attaches a volume is an AssumedRole
   * call invoked by ec2.amazonaws.com). AWS sets it; the caller cannot, unlike userAgent.
   */
  readonly invokedBy?: readonly string[];
  readonly accounts?: readonly string[];
  readonly regions?: readonly string[];
  /** CIDR ranges, IPv4 or IPv6 (a bare address is a /32 or /128). */
  readonly sourceIps?: readonly string[];
  readonly userAgents?: readonly string[];
  readonly console?: boolean;
  /** Key ids, key ARNs, alias names (`alias/ci-*`) or alias ARNs, all wildcard patterns. */
  readonly keys?: readonly string[];
}

export interface ExpectationRuleSpec {
  readonly name: string;
  readonly description?: string | undefined;
  readonly match: ExpectationMatch;
}

/**
 * The aliases known for a key, learned from the stream (key state supplies them). Called
 * at most once per change, and only when a rule matches on `keys`. The key's id comes
 * first so a key-id-keyed table can be passed as is; the whole identity (account, region)
 * is there because a multi-Region key shares its id across regions but not its aliases.
 */
export type AliasesOf = (keyId: string, key: KeyIdentity) => readonly string[];

export const NO_ALIASES: AliasesOf = () => [];

/** The facts of one change that rules look at, derived once per change and only when asked. */
interface Subject {
  readonly change: KmsChange;
  principals(): readonly string[];
  sourceIp(): ipaddr.IPv4 | ipaddr.IPv6 | undefined;
  keyNames(): readonly string[];
}

type Test = (subject: Subject) => boolean;

export interface ExpectationRule {
  readonly name: string;
  readonly description: string | undefined;
  readonly match: ExpectationMatch;
  readonly tests: readonly Test[];
}

/** A compiled, frozen rule set, in file order: the first matching rule wins. */
export type ExpectationRules = readonly ExpectationRule[];

export const NO_EXPECTATIONS: ExpectationRules = Object.freeze([]);

const SESSION_ARN = /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/;

/**
 * The ARNs a principal pattern is matched against. An assumed role is its role, never the
 * session: the session name is chosen by whoever assumes the role, so it identifies no one.
 * The session issuer's ARN carries the role's path (`role/ci/terraform`); the session ARN
 * gives the path-less form (`role/terraform`), which is as unique since a role's name is
 * unique in its account whatever its path.
 */
export function principalIdentities(principal: Principal): readonly string[] {
  if (principal.type !== 'AssumedRole') return principal.arn === undefined ? [] : [principal.arn];
  const identities: string[] = [];
  if (principal.sessionIssuerArn !== undefined) identities.push(principal.sessionIssuerArn);
  const session = principal.arn === undefined ? null : SESSION_ARN.exec(principal.arn);
  if (session !== null) {
    const [, partition, account, role] = session as unknown as [string, string, string, string];
    const pathless = `arn:${partition}:iam::${account}:role/${role}`;
    if (!identities.includes(pathless)) identities.push(pathless);
  }
  return identities;
}

/** The key's names a `keys` pattern is matched against: id, ARN, and every alias known for it, by name and by ARN. */
function keyNames(change: KmsChange, aliasesOf: AliasesOf): readonly string[] {
  const key = change.key;
  const names = new Set<string>();
  const aliases = new Set<string>();
  if (change.aliasName !== undefined) aliases.add(change.aliasName);
  if (key !== undefined) {
    if (key.id.startsWith('alias/')) aliases.add(key.id);
    else {
      names.add(key.id);
      if (key.arn !== undefined) names.add(key.arn);
      let learned: readonly string[] = [];
      try {
        learned = aliasesOf(key.id, key);
      } catch {
        // A failing lookup is no aliases: matching never throws.
      }
      if (Array.isArray(learned)) for (const alias of learned) if (typeof alias === 'string') aliases.add(alias);
    }
  }
  const accountId = key?.accountId ?? (change.accountId === 'unknown' ? undefined : change.accountId);
  const region = key?.region ?? (change.region === 'unknown' ? undefined : change.region);
  for (const alias of aliases) {
    names.add(alias);
    if (accountId !== undefined && region !== undefined) names.add(`arn:${partitionOf(region)}:kms:${region}:${accountId}:${alias}`);
  }
  return [...names];
}

function parseAddress(text: string | undefined): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  // CloudTrail writes a service's name here when a service made the call: that is no address.
  if (text === undefined || !(ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text))) return undefined;
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address it carries.
  return ipaddr.process(text);
}

function subjectOf(change: KmsChange, aliasesOf: AliasesOf): Subject {
  let principals: readonly string[] | undefined;
  let address: { value: ipaddr.IPv4 | ipaddr.IPv6 | undefined } | undefined;
  let keys: readonly string[] | undefined;
  return {
    change,
    principals: () => (principals ??= principalIdentities(change.principal)),
    sourceIp: () => (address ??= { value: parseAddress(change.sourceIp) }).value,
    keyNames: () => (keys ??= keyNames(change, aliasesOf)),
  };
}

function anyWildcard(patterns: readonly string[]): (values: readonly string[]) => boolean {
  const compiled: readonly Wildcard[] = patterns.map(compileWildcard);
  return (values) => values.some((value) => compiled.some((matches) => matches(value)));
}

/** A CIDR (or bare address) already validated by the loader. */
export function parseRange(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (text.includes('/')) return ipaddr.parseCIDR(text);
  const address = ipaddr.parse(text);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

function compileMatch(match: ExpectationMatch): readonly Test[] {
  const tests: Test[] = [];
  if (match.eventNames !== undefined) {
    const names: ReadonlySet<string> = new Set(match.eventNames);
    tests.push((s) => names.has(s.change.entry.eventName));
  }
  if (match.categories !== undefined) {
    const categories: ReadonlySet<string> = new Set(match.categories);
    tests.push((s) => categories.has(s.change.entry.category));
  }
  if (match.principals !== undefined) {
    const matches = anyWildcard(match.principals);
    tests.push((s) => matches(s.principals()));
  }
  if (match.principalTypes !== undefined) {
    const types: ReadonlySet<string> = new Set(match.principalTypes);
    tests.push((s) => types.has(s.change.principal.type));
  }
  if (match.invokedBy !== undefined) {
    const matches = anyWildcard(match.invokedBy);
    tests.push((s) => s.change.principal.invokedBy !== undefined && matches([s.change.principal.invokedBy]));
  }
  if (match.accounts !== undefined) {
    const accounts: ReadonlySet<string> = new Set(match.accounts);
    tests.push((s) => accounts.has(s.change.accountId));
  }
  if (match.regions !== undefined) {
    const regions: ReadonlySet<string> = new Set(match.regions);
    tests.push((s) => regions.has(s.change.region));
  }
  if (match.sourceIps !== undefined) {
    const ranges = match.sourceIps.map(parseRange);
    tests.push((s) => {
      const address = s.sourceIp();
      return address !== undefined && ranges.some((range) => address.kind() === range[0].kind() && address.match(range));
    });
  }
  if (match.userAgents !== undefined) {
    const matches = anyWildcard(match.userAgents);
    tests.push((s) => s.change.userAgent !== undefined && matches([s.change.userAgent]));
  }
  if (match.console !== undefined) {
    const console = match.console;
    tests.push((s) => s.change.sessionCredentialFromConsole === console);
  }
  if (match.keys !== undefined) {
    const matches = anyWildcard(match.keys);
    tests.push((s) => matches(s.keyNames()));
  }
  return tests;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Compiles validated specs (the loader validates; a spec from elsewhere must be valid too). */
export function compileRules(specs: readonly ExpectationRuleSpec[]): ExpectationRules {
  return Object.freeze(
    specs.map((spec) => {
      const match = deepFreeze(structuredClone(spec.match));
      return Object.freeze({ name: spec.name, description: spec.description, match, tests: Object.freeze(compileMatch(match)) });
    }),
  );
}

/** The first rule the change matches, by name; pure and total: it never throws. */
export function matchExpectation(rules: ExpectationRules, change: KmsChange, aliasesOf: AliasesOf = NO_ALIASES): { readonly rule: string } | undefined {
  if (rules.length === 0) return undefined;
  const subject = subjectOf(change, aliasesOf);
  for (const rule of rules) {
    try {
      if (rule.tests.every((test) => test(subject))) return { rule: rule.name };
    } catch {
      // Unreachable with validated rules and a classified change; a rule that cannot be evaluated does not match.
    }
  }
  return undefined;
}
