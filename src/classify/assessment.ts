// What a classified change means: its findings (what it does) and the expectation it matches (who made it), from the record alone.

import type { AliasesOf, ExpectationRules } from '../expectations/expectation-rules.ts';
import { matchExpectation } from '../expectations/expectation-rules.ts';
import { canonicalPolicy } from '../findings/canonical-policy.ts';
import type { Finding, FindingName, FindingOptions } from '../findings/finding.ts';
import { findingsOf } from '../findings/findings-of.ts';
import { changeDetails } from './change-details.ts';
import type { KmsChange } from './kms-change.ts';

export interface Assessment {
  /** Every finding with its evidence (several may share a name: one per statement or principal). */
  readonly findings: readonly Finding[];
  /** The distinct finding names, sorted: what the findings counter counts, once per change and name. */
  readonly findingNames: readonly FindingName[];
  /** The name of the first expectation rule the change matches, if any. */
  readonly expectation: string | undefined;
  /** The key policy the change sets, canonicalised (sorted keys, lists), for diffing in a log store. */
  readonly policy: string | undefined;
}

export interface AssessmentOptions extends FindingOptions {
  readonly expectations: ExpectationRules;
  readonly aliasesOf: AliasesOf;
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/** Pure and total: never throws, whatever the record holds (the parts it reads are themselves total). */
export function assessChange(change: KmsChange, record: unknown, options: AssessmentOptions): Assessment {
  const details = changeDetails(change, record);
  const findings = findingsOf(change, details, options);
  const match = options.expectations.length === 0 ? undefined : matchExpectation(options.expectations, change, options.aliasesOf);
  return {
    findings: findings.length === 0 ? NO_FINDINGS : findings,
    findingNames: [...new Set(findings.map((finding) => finding.name))].sort(),
    expectation: match?.rule,
    policy: canonicalPolicy(details.policy),
  };
}
