// Reads which account, if any, an IAM principal string belongs to: account ids, root/role/user/assumed-role ARNs, service principals.

export type PrincipalKind =
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'account_root'; readonly account: string }
  | { readonly kind: 'account_principal'; readonly account: string }
  | { readonly kind: 'service' }
  | { readonly kind: 'unknown' };

const ACCOUNT = /^\d{12}$/;
// arn:partition:service:region:account:resource — IAM and STS principals have an empty region.
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}):(.+)$/;
// AWS service principals: ec2.amazonaws.com, logs.us-east-1.amazonaws.com, …amazonaws.com.cn, and the internal …amazon.com forms.
const SERVICE = /^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com(\.cn)?|amazon\.com)$/;
// Grants made by EC2 on a volume's behalf name `111122223333:aws:ec2-infrastructure:vol-…` as the grantee.
const ACCOUNT_PREFIXED = /^(\d{12}):aws:/;

/** Never throws. `*` is the wildcard; an unreadable string is `unknown` (a deleted role shows as its unique id, AROA…). */
export function principalKind(value: string): PrincipalKind {
  const principal = value.trim();
  if (principal === '*') return { kind: 'wildcard' };
  if (ACCOUNT.test(principal)) return { kind: 'account_root', account: principal };
  const arn = PRINCIPAL_ARN.exec(principal);
  if (arn !== null) {
    const [, service, account, resource] = arn as unknown as [string, string, string, string];
    if (service === 'iam' && resource === 'root') return { kind: 'account_root', account };
    return { kind: 'account_principal', account };
  }
  if (SERVICE.test(principal)) return { kind: 'service' };
  const prefixed = ACCOUNT_PREFIXED.exec(principal);
  if (prefixed !== null) return { kind: 'account_principal', account: prefixed[1] as string };
  return { kind: 'unknown' };
}

/** The account a principal belongs to, when it can be read from the string. */
export function principalAccount(value: string): string | undefined {
  const kind = principalKind(value);
  return kind.kind === 'account_root' || kind.kind === 'account_principal' ? kind.account : undefined;
}
