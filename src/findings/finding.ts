// The closed list of findings (names are part of the exporter's contract) and the evidence each carries.

export const FINDING_NAMES = [
  'key_policy_public',
  'key_policy_external_account',
  'key_policy_lockout',
  'key_policy_unparsable',
  'lockout_safety_check_bypassed',
  'grant_external_principal',
  'grant_allows_create_grant',
  'short_deletion_window',
  'external_key_material',
  'external_key_store',
] as const;

export type FindingName = (typeof FINDING_NAMES)[number];

/** What a reader needs to see why the finding was raised; only the fields that apply are present. */
export interface FindingEvidence {
  /** The statement's Sid, or `Statement[i]` (zero-based) when it has none. */
  readonly statement?: string;
  readonly principal?: string;
  /** The account the principal belongs to, when it can be read from it. */
  readonly account?: string;
  /** What would have made the statement safe, e.g. the caller-pinning condition keys. */
  readonly missingCondition?: string;
  readonly actions?: readonly string[];
  readonly operations?: readonly string[];
  readonly pendingWindowInDays?: number;
  readonly minimumDays?: number;
  readonly origin?: string;
  readonly expirationModel?: string;
  readonly validTo?: string;
  readonly customKeyStoreType?: string;
  readonly proxyEndpoint?: string;
  /** One plain sentence, for the log body and for people. */
  readonly detail: string;
}

export interface Finding {
  readonly name: FindingName;
  readonly evidence: FindingEvidence;
}

export interface FindingOptions {
  /** Accounts that count as "ours" besides the key's own (the `--accounts` file). */
  readonly organisationAccounts: ReadonlySet<string>;
  /** The AWS Organizations id (`o-…`) that `aws:PrincipalOrgID` must name to pin a statement. */
  readonly organisationId?: string;
  /** `--min-deletion-window-days`: a ScheduleKeyDeletion below it is a finding. */
  readonly minDeletionWindowDays: number;
}
