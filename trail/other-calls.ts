// Everything else in a trail: other services' API calls (some with names a careless filter would count) and KMS listings, as a table.

import type { Account, Organisation } from './organisation.ts';
import { keysIn } from './organisation.ts';
import type { Principal } from './principals.ts';
import { GO_SDK, assumedRole } from './principals.ts';
import type { Random, WeightTable } from './random.ts';
import { UPPER_ALNUM } from './random.ts';
import type { Entry, RecordMaker } from './records.ts';
import type { Json, Rec } from './templates.ts';
import { javaMedium } from './time.ts';

export interface CallContext {
  readonly random: Random;
  readonly org: Organisation;
  readonly account: Account;
  readonly region: string;
  readonly time: number;
}

/** A call built from its parts; the envelope (ids, times, caller, TLS details) is common to all. */
interface ApiCall {
  readonly source: string;
  readonly name: string;
  readonly readOnly: boolean;
  readonly request: (c: CallContext) => Json;
  readonly response?: (c: CallContext) => Json;
  /** Default: a workload or a person of the account. */
  readonly caller?: (c: CallContext) => Principal;
  /** Global services answer in us-east-1 whatever the caller's Region. */
  readonly global?: boolean;
  /** An S3 object-level data event rather than a management event. */
  readonly data?: boolean;
  readonly additionalEventData?: (c: CallContext) => Json;
  readonly decoy?: string;
}

/** A call whose shape is a fixture of test/fixtures/cloudtrail/negative/, moved to the account and Region. */
interface FixtureCall {
  readonly fixture: string;
  readonly decoy?: string;
}

type OtherCall = ApiCall | FixtureCall;

const upper = (c: CallContext, n: number): string => c.random.chars(n, UPPER_ALNUM);
const anyKeyArn = (c: CallContext): string => {
  const key = c.random.pick(keysIn(c.account, c.region));
  return `arn:aws:kms:${key.region}:${key.account}:key/${key.keyId}`;
};
const bucket = (c: CallContext): string => `${c.account.name}-${c.random.pick(['raw', 'curated', 'artifacts', 'logs', 'backups', 'exports'])}-${c.account.id}`;
const fn = (c: CallContext): string => `${c.account.name}-${c.random.pick(['ingest', 'enrich', 'notify', 'rotate-secrets', 'thumbnail'])}`;
const table = (c: CallContext): string => `${c.random.pick(['Orders', 'Payments', 'Sessions', 'Inventory', 'AuditLog'])}-${c.account.name}`;
const person = (c: CallContext): Principal => c.random.pick(c.account.humans);
/** An IAM policy that names KMS change actions and the KMS endpoint: a text decoy for any raw-byte prefilter. */
const kmsPolicy = (c: CallContext): string =>
  JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy'],
          Resource: anyKeyArn(c),
          Condition: { StringEquals: { 'kms:ViaService': 'kms.amazonaws.com' }, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        },
      ],
    },
    null,
    2,
  );

const s3BucketCall = (name: string, readOnly: boolean, field: string): ApiCall => ({
  source: 's3.amazonaws.com',
  name,
  readOnly,
  request: (c) => {
    const b = bucket(c);
    return { bucketName: b, Host: `${b}.s3.${c.region}.amazonaws.com`, [field]: '' };
  },
  additionalEventData: (c) => ({ SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: 0, AuthenticationMethod: 'AuthHeader', 'x-amz-id-2': c.random.token(76), bytesTransferredOut: c.random.int(90_000) }),
});

const s3ObjectCall = (name: 'GetObject' | 'PutObject'): ApiCall => ({
  source: 's3.amazonaws.com',
  name,
  readOnly: name === 'GetObject',
  data: true,
  request: (c) => {
    const b = bucket(c);
    const key = `year=2024/month=05/day=0${1 + c.random.int(9)}/part-${c.random.hex(5)}-${c.random.uuid()}.c000.snappy.parquet`;
    return {
      bucketName: b,
      Host: `${b}.s3.${c.region}.amazonaws.com`,
      key,
      ...(name === 'PutObject' ? { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': anyKeyArn(c) } : {}),
    };
  },
  response: (c) => (name === 'PutObject' ? { 'x-amz-server-side-encryption-aws-kms-key-id': anyKeyArn(c), 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-version-id': c.random.token(32) } : null),
  additionalEventData: (c) => ({ SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: name === 'PutObject' ? 1024 + c.random.int(4_000_000) : 0, SSEApplied: 'SSE_KMS', AuthenticationMethod: 'AuthHeader', 'x-amz-id-2': c.random.token(76), bytesTransferredOut: c.random.int(90_000) }),
});

// Payment Cryptography's control plane has CreateKey, DeleteKey, CreateAlias, UpdateAlias and TagResource too.
const paymentCryptography = (name: string): ApiCall => ({
  source: 'controlplane.payment-cryptography.amazonaws.com',
  name,
  readOnly: false,
  caller: person,
  request: (c) => {
    const keyArn = `arn:aws:payment-cryptography:${c.region}:${c.account.id}:key/${c.random.hex(16)}`;
    if (name.includes('Alias')) return { aliasName: `alias/issuer-${c.random.hex(4)}`, keyArn };
    if (name === 'CreateKey') return { keyAttributes: { keyUsage: 'TR31_P0_PIN_ENCRYPTION_KEY', keyClass: 'SYMMETRIC_KEY', keyAlgorithm: 'TDES_3KEY', keyModesOfUse: { encrypt: true, decrypt: true, wrap: true, unwrap: true } }, exportable: true, enabled: true };
    return { keyIdentifier: keyArn };
  },
  decoy: 'same_name_other_service',
});

/** Every call a mix can ask for, by name. */
export const OTHER_CALLS = {
  'sts.AssumeRole': {
    source: 'sts.amazonaws.com',
    name: 'AssumeRole',
    readOnly: true,
    request: (c) => ({ roleArn: `arn:aws:iam::${c.account.id}:role/reporting-batch`, roleSessionName: `i-0${c.random.hex(16)}`, durationSeconds: 3600 }),
    response: (c) => ({
      credentials: { accessKeyId: `ASIA${upper(c, 16)}`, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE', expiration: 'Nov 21, 2026, 1:00:00 AM' },
      assumedRoleUser: { assumedRoleId: `AROA${upper(c, 17)}:session`, arn: `arn:aws:sts::${c.account.id}:assumed-role/reporting-batch/session` },
    }),
  },
  'sts.GetCallerIdentity': { source: 'sts.amazonaws.com', name: 'GetCallerIdentity', readOnly: true, request: () => null },
  'ec2.DescribeInstances': { source: 'ec2.amazonaws.com', name: 'DescribeInstances', readOnly: true, request: () => ({ instancesSet: {}, filterSet: {} }) },
  'ec2.RunInstances': {
    source: 'ec2.amazonaws.com',
    name: 'RunInstances',
    readOnly: false,
    request: (c) => ({ instancesSet: { items: [{ imageId: `ami-0${c.random.hex(16)}`, minCount: 1, maxCount: 1 }] }, instanceType: 't3.micro' }),
    response: (c) => ({ instancesSet: { items: [{ instanceId: `i-0${c.random.hex(16)}` }] } }),
  },
  'ec2.DescribeKeyPairs': { source: 'ec2.amazonaws.com', name: 'DescribeKeyPairs', readOnly: true, request: () => ({ keySet: {} }) },
  's3.ListBuckets': { source: 's3.amazonaws.com', name: 'ListBuckets', readOnly: true, request: (c) => ({ Host: `s3.${c.region}.amazonaws.com` }) },
  's3.GetBucketEncryption': {
    source: 's3.amazonaws.com',
    name: 'GetBucketEncryption',
    readOnly: true,
    request: (c) => ({ bucketName: `orders-archive-${c.account.id}`, Host: `orders-archive-${c.account.id}.s3.${c.region}.amazonaws.com`, encryption: '' }),
  },
  's3.PutBucketTagging': { source: 's3.amazonaws.com', name: 'PutBucketTagging', readOnly: false, request: (c) => ({ bucketName: `orders-archive-${c.account.id}`, tagging: '' }) },
  'iam.ListRoles': { source: 'iam.amazonaws.com', name: 'ListRoles', readOnly: true, request: () => ({ maxItems: 100 }) },
  'iam.GetRole': { source: 'iam.amazonaws.com', name: 'GetRole', readOnly: true, request: () => ({ roleName: 'orders-worker-role' }) },
  'iam.TagRole': { source: 'iam.amazonaws.com', name: 'TagRole', readOnly: false, request: () => ({ roleName: 'orders-worker-role', tags: [{ key: 'team', value: 'orders' }] }) },
  'lambda.ListFunctions20150331': { source: 'lambda.amazonaws.com', name: 'ListFunctions20150331', readOnly: true, request: () => null },
  'lambda.GetFunction20150331v2': { source: 'lambda.amazonaws.com', name: 'GetFunction20150331v2', readOnly: true, request: () => ({ functionName: 'orders-worker' }) },
  'secretsmanager.GetSecretValue': {
    source: 'secretsmanager.amazonaws.com',
    name: 'GetSecretValue',
    readOnly: true,
    request: (c) => ({ secretId: `arn:aws:secretsmanager:${c.region}:${c.account.id}:secret:orders/db-password-AbCdEf` }),
  },
  'logs.CreateLogStream': {
    source: 'logs.amazonaws.com',
    name: 'CreateLogStream',
    readOnly: false,
    request: (c) => ({ logGroupName: '/aws/lambda/orders-worker', logStreamName: `2026/11/20/[$LATEST]${c.random.hex(32)}` }),
  },
  'kms.ListKeys': { source: 'kms.amazonaws.com', name: 'ListKeys', readOnly: true, request: () => ({ limit: 1000 }) },
  'kms.GetKeyRotationStatus': { source: 'kms.amazonaws.com', name: 'GetKeyRotationStatus', readOnly: true, request: (c) => ({ keyId: c.random.uuid() }) },

  // Web identity (EKS service accounts): a userIdentity of its own type.
  'sts.AssumeRoleWithWebIdentity': {
    source: 'sts.amazonaws.com',
    name: 'AssumeRoleWithWebIdentity',
    readOnly: true,
    caller: (c) => {
      const subject = `system:serviceaccount:${c.random.pick(['payments', 'orders', 'kube-system'])}:${c.random.pick(['api', 'worker', 'external-dns', 'karpenter'])}`;
      const provider = `arn:aws:iam::${c.account.id}:oidc-provider/oidc.eks.${c.region}.amazonaws.com/id/${c.random.hex(32).toUpperCase()}`;
      return { type: 'WebIdentityUser', arn: subject, ip: `10.${c.random.int(256)}.${c.random.int(256)}.${1 + c.random.int(254)}`, ua: GO_SDK, identity: () => ({ type: 'WebIdentityUser', principalId: `${provider}:sts.amazonaws.com:${subject}`, userName: subject, identityProvider: provider }) };
    },
    request: (c) => ({ roleArn: `arn:aws:iam::${c.account.id}:role/eks-node-group-role`, roleSessionName: `${1 + c.random.int(9)}${c.random.chars(18, '0123456789')}`, durationSeconds: 86400 }),
    response: (c) => ({ credentials: { accessKeyId: `ASIA${upper(c, 16)}`, sessionToken: c.random.token(400 + c.random.int(200)), expiration: javaMedium(c.time + 86_400_000) }, audience: 'sts.amazonaws.com' }),
  },
  's3.GetBucketAcl': s3BucketCall('GetBucketAcl', true, 'acl'),
  's3.GetBucketLocation': s3BucketCall('GetBucketLocation', true, 'location'),
  's3.GetBucketPolicy': s3BucketCall('GetBucketPolicy', true, 'policy'),
  's3.PutBucketEncryption': {
    source: 's3.amazonaws.com',
    name: 'PutBucketEncryption',
    readOnly: false,
    caller: person,
    request: (c) => {
      const b = bucket(c);
      return { bucketName: b, Host: `${b}.s3.${c.region}.amazonaws.com`, encryption: '', ServerSideEncryptionConfiguration: { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: anyKeyArn(c) }, BucketKeyEnabled: true } } };
    },
    decoy: 's3_bucket_kms_encryption',
  },
  's3.GetObject': s3ObjectCall('GetObject'),
  's3.PutObject': s3ObjectCall('PutObject'),
  'ec2.DescribeVolumes': { source: 'ec2.amazonaws.com', name: 'DescribeVolumes', readOnly: true, request: (c) => ({ volumeSet: { items: [{ volumeId: `vol-0${c.random.hex(16)}` }] }, filterSet: {} }) },
  'ec2.DescribeSecurityGroups': { source: 'ec2.amazonaws.com', name: 'DescribeSecurityGroups', readOnly: true, request: (c) => ({ securityGroupSet: {}, securityGroupIdSet: { items: [{ groupId: `sg-0${c.random.hex(16)}` }] }, filterSet: {} }) },
  'ec2.CreateKeyPair': { fixture: 'negative/ec2.CreateKeyPair.json', decoy: 'ec2_key_pair' },
  'ec2.DeleteKeyPair': {
    source: 'ec2.amazonaws.com',
    name: 'DeleteKeyPair',
    readOnly: false,
    caller: person,
    request: (c) => ({ keyName: `deploy-${c.random.hex(6)}`, keyPairId: `key-0${c.random.hex(16)}` }),
    response: (c) => ({ requestId: c.random.uuid(), _return: true }),
    decoy: 'ec2_key_pair',
  },
  'ec2.ImportKeyPair': {
    source: 'ec2.amazonaws.com',
    name: 'ImportKeyPair',
    readOnly: false,
    caller: person,
    request: (c) => ({ keyName: `deploy-${c.random.hex(6)}`, publicKeyMaterial: '<sensitiveDataRemoved>' }),
    response: (c) => ({ requestId: c.random.uuid(), keyName: `deploy-${c.random.hex(6)}`, keyFingerprint: c.random.hex(32).replace(/(..)(?!$)/g, '$1:'), keyPairId: `key-0${c.random.hex(16)}` }),
    decoy: 'ec2_key_pair',
  },
  'ec2.CreateTags': {
    source: 'ec2.amazonaws.com',
    name: 'CreateTags',
    readOnly: false,
    request: (c) => ({ resourcesSet: { items: [{ resourceId: `vol-0${c.random.hex(16)}` }] }, tagSet: { items: [{ key: 'backup', value: 'daily' }] } }),
    response: (c) => ({ requestId: c.random.uuid(), _return: true }),
  },
  'iam.ListAttachedRolePolicies': { source: 'iam.amazonaws.com', name: 'ListAttachedRolePolicies', readOnly: true, global: true, request: () => ({ roleName: 'app-orders-prod' }) },
  'iam.PutRolePolicy': {
    source: 'iam.amazonaws.com',
    name: 'PutRolePolicy',
    readOnly: false,
    global: true,
    caller: person,
    request: (c) => ({ roleName: 'app-payments-prod', policyName: 'kms-access', policyDocument: kmsPolicy(c) }),
    decoy: 'iam_policy_mentions_kms_changes',
  },
  'iam.CreatePolicy': {
    source: 'iam.amazonaws.com',
    name: 'CreatePolicy',
    readOnly: false,
    global: true,
    caller: person,
    request: (c) => ({ policyName: `kms-admin-${c.random.hex(4)}`, policyDocument: kmsPolicy(c), description: 'KMS administration' }),
    response: (c) => ({ policy: { policyName: 'kms-admin', policyId: `ANPA${upper(c, 17)}`, arn: `arn:aws:iam::${c.account.id}:policy/kms-admin`, path: '/', defaultVersionId: 'v1', isAttachable: true, createDate: javaMedium(c.time) } }),
    decoy: 'iam_policy_mentions_kms_changes',
  },
  // Lambda's event names carry the API version: CreateAlias20150331 is not KMS's CreateAlias.
  'lambda.CreateAlias20150331': {
    source: 'lambda.amazonaws.com',
    name: 'CreateAlias20150331',
    readOnly: false,
    request: (c) => ({ functionName: fn(c), name: 'live', functionVersion: String(1 + c.random.int(40)) }),
    decoy: 'lambda_alias_or_tag',
  },
  'lambda.UpdateAlias20150331': {
    source: 'lambda.amazonaws.com',
    name: 'UpdateAlias20150331',
    readOnly: false,
    request: (c) => ({ functionName: fn(c), name: 'live', functionVersion: String(1 + c.random.int(40)) }),
    decoy: 'lambda_alias_or_tag',
  },
  'lambda.TagResource20170331v2': {
    source: 'lambda.amazonaws.com',
    name: 'TagResource20170331v2',
    readOnly: false,
    request: (c) => ({ resource: `arn:aws:lambda:${c.region}:${c.account.id}:function:${fn(c)}`, tags: { team: 'payments' } }),
    decoy: 'lambda_alias_or_tag',
  },
  'dynamodb.DescribeTable': { source: 'dynamodb.amazonaws.com', name: 'DescribeTable', readOnly: true, request: (c) => ({ tableName: table(c) }) },
  'dynamodb.TagResource': {
    source: 'dynamodb.amazonaws.com',
    name: 'TagResource',
    readOnly: false,
    request: (c) => ({ resourceArn: `arn:aws:dynamodb:${c.region}:${c.account.id}:table/${table(c)}`, tags: [{ key: 'team', value: 'orders' }] }),
    decoy: 'tag_resource_other_service',
  },
  'dynamodb.UpdateTable': {
    source: 'dynamodb.amazonaws.com',
    name: 'UpdateTable',
    readOnly: false,
    request: (c) => ({ tableName: table(c), sSESpecification: { enabled: true, sSEType: 'KMS', kMSMasterKeyId: anyKeyArn(c) } }),
  },
  'secretsmanager.TagResource': { fixture: 'negative/secretsmanager.TagResource.json', decoy: 'tag_resource_other_service' },
  'sns.TagResource': {
    source: 'sns.amazonaws.com',
    name: 'TagResource',
    readOnly: false,
    request: (c) => ({ resourceArn: `arn:aws:sns:${c.region}:${c.account.id}:alerts-${c.random.hex(4)}`, tags: [{ key: 'team', value: 'sre' }] }),
    decoy: 'tag_resource_other_service',
  },
  // SQS has no TagResource: its tagging call is TagQueue.
  'sqs.TagQueue': {
    source: 'sqs.amazonaws.com',
    name: 'TagQueue',
    readOnly: false,
    request: (c) => ({ queueUrl: `https://sqs.${c.region}.amazonaws.com/${c.account.id}/jobs-${c.random.hex(4)}`, tags: { team: 'orders' } }),
  },
  'sqs.SetQueueAttributes': {
    source: 'sqs.amazonaws.com',
    name: 'SetQueueAttributes',
    readOnly: false,
    request: (c) => ({ queueUrl: `https://sqs.${c.region}.amazonaws.com/${c.account.id}/jobs-${c.random.hex(4)}`, attributes: { KmsMasterKeyId: 'alias/aws/sqs', KmsDataKeyReusePeriodSeconds: '300' } }),
  },
  'logs.AssociateKmsKey': {
    source: 'logs.amazonaws.com',
    name: 'AssociateKmsKey',
    readOnly: false,
    caller: person,
    request: (c) => ({ logGroupName: `/aws/lambda/${fn(c)}`, kmsKeyId: anyKeyArn(c) }),
  },
  // KMS calls CloudHSM for a custom key store: the record names kms.amazonaws.com but is not KMS's.
  'cloudhsm.DescribeClusters': {
    source: 'cloudhsm.amazonaws.com',
    name: 'DescribeClusters',
    readOnly: true,
    caller: (c) => {
      const p = assumedRole(c.random, c.account.id, 'AWSServiceRoleForKeyManagementServiceCustomKeyStores', `KMS-${c.random.hex(8)}`, 'kms.amazonaws.com', 'kms.amazonaws.com', '/aws-service-role/cks.kms.amazonaws.com/');
      return { ...p, identity: (t) => ({ ...p.identity(t), invokedBy: 'kms.amazonaws.com' }) };
    },
    request: (c) => ({ filters: { clusterIds: [`cluster-${c.random.hex(11)}`] } }),
    decoy: 'invoked_by_kms',
  },
  'payment-cryptography.CreateKey': paymentCryptography('CreateKey'),
  'payment-cryptography.DeleteKey': paymentCryptography('DeleteKey'),
  'payment-cryptography.CreateAlias': paymentCryptography('CreateAlias'),
  'payment-cryptography.UpdateAlias': paymentCryptography('UpdateAlias'),
  'payment-cryptography.TagResource': paymentCryptography('TagResource'),
  'license-manager.CreateGrant': { fixture: 'negative/license-manager.CreateGrant.json', decoy: 'same_name_other_service' },
  'ds.CreateAlias': { fixture: 'negative/ds.CreateAlias.json', decoy: 'same_name_other_service' },
  'gamelift.CreateAlias': {
    source: 'gamelift.amazonaws.com',
    name: 'CreateAlias',
    readOnly: false,
    caller: person,
    request: (c) => ({ name: 'live-fleet', description: 'Routes matchmaking to the current production fleet', routingStrategy: { type: 'SIMPLE', fleetId: `fleet-${c.random.uuid()}` } }),
    decoy: 'same_name_other_service',
  },
} as const satisfies Record<string, OtherCall>;

export type OtherCallName = keyof typeof OTHER_CALLS;

export function otherCall(maker: RecordMaker, org: Organisation, kinds: WeightTable<OtherCallName>, failureRate: number, time: number): Entry {
  const random = maker.random;
  const account = random.weighted(org.accountWeights);
  const drawnRegion = random.weighted(org.regionWeights);
  const call: OtherCall = OTHER_CALLS[random.weighted(kinds)];
  const region = 'global' in call && call.global === true ? 'us-east-1' : drawnRegion;
  const c: CallContext = { random, org, account, region, time };
  const p = 'caller' in call && call.caller !== undefined ? call.caller(c) : random.weighted([[5, random.pick(account.workloads)], [3, random.pick(account.humans)]] as const);
  const decoy = call.decoy === undefined ? {} : { decoy: call.decoy };
  if ('fixture' in call) return maker.fixture(call.fixture, time, account.id, region, { principal: p, ...decoy });

  const r: Rec = {
    eventVersion: call.data === true ? '1.10' : '1.09',
    userIdentity: null,
    eventTime: '',
    eventSource: call.source,
    eventName: call.name,
    awsRegion: region,
    sourceIPAddress: '',
    userAgent: '',
    requestParameters: call.request(c),
    responseElements: call.response?.(c) ?? null,
  };
  if (call.additionalEventData !== undefined) r['additionalEventData'] = call.additionalEventData(c);
  r['requestID'] = '';
  r['eventID'] = '';
  r['readOnly'] = call.readOnly;
  r['eventType'] = 'AwsApiCall';
  r['managementEvent'] = call.data !== true;
  r['recipientAccountId'] = account.id;
  r['eventCategory'] = call.data === true ? 'Data' : 'Management';
  const host = call.global === true ? call.source : `${call.source.replace('.amazonaws.com', '')}.${region}.amazonaws.com`;
  r['tlsDetails'] = { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: host };
  const action = `${call.source.split('.')[0]}:${call.name.replace(/\d{8}(v\d)?$/, '')}`;
  const failed = failureRate > 0 && random.chance(failureRate);
  const error = failed ? { error: { code: 'AccessDenied', message: `User: ${p.arn ?? p.ip} is not authorized to perform: ${action} because no identity-based policy allows the action`, resource: '*' } } : {};
  return maker.stamp(r, time, 'ignored', { principal: p, ...decoy, ...error });
}
