// A large organisation's trail of any length: the benchmarks' data (bench/generate-trail.ts), one day per about a million records.
//
// 60% KMS reads, 1.5% KMS changes (every catalog event within the first 31, 8% of callers' changes
// failed), the rest other services' calls, many of them look-alikes a careless filter would count.

import { CATALOG } from '../../src/catalog/kms-events.ts';
import type { Mix, TrailSpec } from '../generate.ts';
import type { Organisation } from '../organisation.ts';
import { randomOrganisation } from '../organisation.ts';

export const MIXED_START = Date.UTC(2024, 4, 1, 0, 0, 0);

// Grants dominate real trails (EBS, RDS... create and retire them all day); the rest of the catalog is rare.
const CHANGE_WEIGHTS: Readonly<Record<string, number>> = {
  CreateGrant: 30,
  RetireGrant: 18,
  TagResource: 8,
  RotateKey: 6,
  CreateKey: 4,
  CreateAlias: 4,
  UpdateAlias: 3,
  RevokeGrant: 3,
  PutKeyPolicy: 3,
  UntagResource: 2,
  EnableKeyRotation: 2,
};

const MIX: Mix = {
  kmsReads: 0.6,
  kmsReadKinds: [
    [24, 'kms.Decrypt.json'],
    [16, 'kms.GenerateDataKey.json'],
    [5, 'kms.Encrypt.json'],
    [5, 'kms.DescribeKey.json'],
    [2, 'kms.ListAliases.json'],
    [1.5, 'kms.GetKeyPolicy.json'],
    [0.3, 'kms.Decrypt.AccessDenied.json'],
  ],
  changes: 0.015,
  changeWeights: CATALOG.map((entry) => [CHANGE_WEIGHTS[entry.eventName] ?? 1, entry.eventName] as const),
  walkCatalogFirst: true,
  changeFailures: {
    rate: 0.08,
    codes: [
      [85, 'AccessDenied'],
      [8, 'KMSInvalidStateException'],
      [5, 'NotFoundException'],
      [2, 'LimitExceededException'],
    ],
  },
  otherKinds: [
    [6, 'sts.AssumeRole'],
    [1, 'sts.AssumeRoleWithWebIdentity'],
    [1.5, 'sts.GetCallerIdentity'],
    [2, 's3.GetBucketAcl'],
    [1, 's3.GetBucketEncryption'],
    [1.5, 's3.GetBucketLocation'],
    [0.5, 's3.GetBucketPolicy'],
    [1, 's3.ListBuckets'],
    [0.2, 's3.PutBucketEncryption'],
    [0.3, 's3.PutBucketTagging'],
    [2, 's3.GetObject'],
    [1.5, 's3.PutObject'],
    [3, 'ec2.DescribeInstances'],
    [1.5, 'ec2.DescribeVolumes'],
    [1, 'ec2.DescribeSecurityGroups'],
    [0.5, 'ec2.DescribeKeyPairs'],
    [0.3, 'ec2.RunInstances'],
    [0.3, 'ec2.CreateKeyPair'],
    [0.1, 'ec2.DeleteKeyPair'],
    [0.05, 'ec2.ImportKeyPair'],
    [0.8, 'ec2.CreateTags'],
    [1.2, 'iam.GetRole'],
    [0.6, 'iam.ListAttachedRolePolicies'],
    [0.5, 'iam.ListRoles'],
    [0.1, 'iam.TagRole'],
    [0.3, 'iam.PutRolePolicy'],
    [0.1, 'iam.CreatePolicy'],
    [0.8, 'lambda.ListFunctions20150331'],
    [0.8, 'lambda.GetFunction20150331v2'],
    [0.2, 'lambda.CreateAlias20150331'],
    [0.1, 'lambda.UpdateAlias20150331'],
    [0.1, 'lambda.TagResource20170331v2'],
    [1.5, 'dynamodb.DescribeTable'],
    [0.1, 'dynamodb.TagResource'],
    [0.1, 'dynamodb.UpdateTable'],
    [2.5, 'secretsmanager.GetSecretValue'],
    [0.1, 'secretsmanager.TagResource'],
    [0.05, 'sns.TagResource'],
    [0.05, 'sqs.TagQueue'],
    [0.1, 'sqs.SetQueueAttributes'],
    [1, 'logs.CreateLogStream'],
    [0.05, 'logs.AssociateKmsKey'],
    [0.5, 'kms.ListKeys'],
    [0.5, 'kms.GetKeyRotationStatus'],
    [0.2, 'cloudhsm.DescribeClusters'],
    [0.05, 'payment-cryptography.CreateKey'],
    [0.03, 'payment-cryptography.DeleteKey'],
    [0.05, 'payment-cryptography.CreateAlias'],
    [0.02, 'payment-cryptography.UpdateAlias'],
    [0.03, 'payment-cryptography.TagResource'],
    [0.03, 'license-manager.CreateGrant'],
    [0.02, 'ds.CreateAlias'],
    [0.02, 'gamelift.CreateAlias'],
  ],
  otherFailureRate: 0.01,
  // The benchmarks count every record once: no re-deliveries.
  duplicates: 0,
};

export function mixedTrail(seed: number, records: number): TrailSpec<Organisation> {
  return {
    seed,
    records,
    // About 11.5 records/s: 1,000,000 records span a day.
    time: { kind: 'clock', start: MIXED_START, maxStepMs: 173 },
    organisation: (random) =>
      randomOrganisation(random, {
        accounts: 24,
        regionWeights: [
          [40, 'us-east-1'],
          [12, 'us-east-2'],
          [14, 'us-west-2'],
          [14, 'eu-west-1'],
          [8, 'eu-central-1'],
          [5, 'ap-southeast-2'],
          [4, 'ap-northeast-1'],
          [3, 'sa-east-1'],
        ],
        keysPerRegion: 4,
        multiRegionKeys: 2,
      }),
    mix: MIX,
  };
}
