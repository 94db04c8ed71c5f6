// KMS cryptographic and read-only calls, the bulk of any real trail and never a change: the negative fixtures re-targeted.

import type { Organisation } from './organisation.ts';
import { keysIn } from './organisation.ts';
import type { Principal } from './principals.ts';
import { awsService } from './principals.ts';
import type { WeightTable } from './random.ts';
import type { Entry, RecordMaker } from './records.ts';
import { keyArn, onto, retarget } from './templates.ts';

/** Fixtures of test/fixtures/cloudtrail/negative/ that are KMS reads. */
export type KmsReadFixture =
  | 'kms.Decrypt.json'
  | 'kms.GenerateDataKey.json'
  | 'kms.Encrypt.json'
  | 'kms.DescribeKey.json'
  | 'kms.ListAliases.json'
  | 'kms.GetKeyPolicy.json'
  | 'kms.Decrypt.AccessDenied.json';

/** Services that call KMS on a workload's behalf with their own identity. */
const CALLING_SERVICES = ['s3.amazonaws.com', 'secretsmanager.amazonaws.com', 'cloudtrail.amazonaws.com', 'logs.amazonaws.com'];
/** Describing keys and reading policies is what people do, not applications. */
const BY_PEOPLE: ReadonlySet<KmsReadFixture> = new Set(['kms.DescribeKey.json', 'kms.GetKeyPolicy.json', 'kms.ListAliases.json']);

export function kmsRead(maker: RecordMaker, org: Organisation, kinds: WeightTable<KmsReadFixture>, time: number): Entry {
  const random = maker.random;
  const account = random.weighted(org.accountWeights);
  const region = random.weighted(org.regionWeights);
  const target = random.pick(keysIn(account, region));
  const caller = (): Principal =>
    random.weighted([
      [6, random.pick(account.workloads)],
      [2, awsService(random.pick(CALLING_SERVICES))],
      [1, random.pick(account.humans)],
    ] as const);
  const kind = random.weighted(kinds);
  const p = BY_PEOPLE.has(kind) ? random.pick(account.humans) : caller();
  const r = retarget(`negative/${kind}`, onto(target));
  const failed = kind === 'kms.Decrypt.AccessDenied.json';
  if (failed) {
    r['errorMessage'] = `User: ${p.arn ?? p.ip} is not authorized to perform: kms:Decrypt on resource: ${keyArn(target)} because no identity-based policy allows the kms:Decrypt action`;
  }
  return maker.stamp(r, time, 'ignored', { principal: p, ...(failed ? { decoy: 'kms_read_failed' } : {}) });
}
