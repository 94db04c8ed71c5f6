// Who calls: CloudTrail userIdentity objects for IAM users, assumed roles, root users, federated users, other accounts and AWS services.

import type { Random } from './random.ts';
import { UPPER_ALNUM } from './random.ts';
import type { Rec } from './templates.ts';
import { MINUTE, iso } from './time.ts';

export interface Principal {
  /** userIdentity.type ('AWSService' for services). */
  readonly type: string;
  readonly arn: string | null;
  readonly ip: string;
  readonly ua: string;
  /** The userIdentity object of a call at `eventTime` (session creation dates precede it). */
  identity(eventTime: number): Rec;
}

// User agents as real trails show them.
export const CLI =
  'aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-1017-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off';
export const TERRAFORM =
  'APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.76.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.4 ua/2.1 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64';
export const BOTO =
  'Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#5.10.227-219.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.60';
export const NODE_SDK = 'aws-sdk-nodejs/3.693.0 linux/v22.11.0 exec-env/AWS_Lambda_nodejs22.x';
export const CONSOLE = 'AWS Internal';
export const JAVA_SDK =
  'aws-sdk-java/2.25.40 Linux/5.10.215-203.850.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy';
export const GO_SDK = 'aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/kms#1.31.1';
export const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
export const CDK = 'aws-cdk/2.140.0 (+https://github.com/aws/aws-cdk) aws-sdk-js/3.569.0 ua/2.0 os/linux lang/js md/nodejs#20.12.2 api/cloudformation#3.569.0';

/** Temporary credentials: a fresh access key, and a session that began `minutes[0]` to `minutes[0] + minutes[1]` minutes before the call. */
function credentials(random: Random, eventTime: number, issuer: Rec, minutes: readonly [number, number], mfa: 'true' | 'false'): Rec {
  return {
    accessKeyId: `ASIA${random.chars(16, UPPER_ALNUM)}`,
    sessionContext: { sessionIssuer: issuer, webIdFederationData: {}, attributes: { creationDate: iso(eventTime - (minutes[0] + random.int(minutes[1])) * MINUTE), mfaAuthenticated: mfa } },
  };
}

export function iamUser(random: Random, account: string, name: string, ip: string, ua: string): Principal {
  const principalId = `AIDA${random.chars(17, UPPER_ALNUM)}`;
  const accessKeyId = `AKIA${random.chars(16, UPPER_ALNUM)}`;
  const arn = `arn:aws:iam::${account}:user/${name}`;
  return {
    type: 'IAMUser',
    arn,
    ip,
    ua,
    identity: () => ({ type: 'IAMUser', principalId, arn, accountId: account, accessKeyId, userName: name }),
  };
}

export function assumedRole(random: Random, account: string, role: string, session: string, ip: string, ua: string, issuerPath = '/'): Principal {
  const roleId = `AROA${random.chars(17, UPPER_ALNUM)}`;
  const arn = `arn:aws:sts::${account}:assumed-role/${role}/${session}`;
  return {
    type: 'AssumedRole',
    arn,
    ip,
    ua,
    identity: (t) => ({
      type: 'AssumedRole',
      principalId: `${roleId}:${session}`,
      arn,
      accountId: account,
      ...credentials(random, t, { type: 'Role', principalId: roleId, arn: `arn:aws:iam::${account}:role${issuerPath}${role}`, accountId: account, userName: role }, [5, 50], 'false'),
    }),
  };
}

export function root(random: Random, account: string, ip: string): Principal {
  const arn = `arn:aws:iam::${account}:root`;
  return {
    type: 'Root',
    arn,
    ip,
    ua: CONSOLE,
    identity: (t) => ({
      type: 'Root',
      principalId: account,
      arn,
      accountId: account,
      ...credentials(random, t, {}, [2, 20], 'true'),
    }),
  };
}

/** A federated user (GetFederationToken through a broker IAM user). */
export function federatedUser(random: Random, account: string, name: string, broker: string, ip: string, ua: string): Principal {
  const arn = `arn:aws:sts::${account}:federated-user/${name}`;
  const brokerId = `AIDA${random.chars(17, UPPER_ALNUM)}`;
  return {
    type: 'FederatedUser',
    arn,
    ip,
    ua,
    identity: (t) => ({
      type: 'FederatedUser',
      principalId: `${account}:${name}`,
      arn,
      accountId: account,
      ...credentials(random, t, { type: 'IAMUser', principalId: brokerId, arn: `arn:aws:iam::${account}:user/${broker}`, accountId: account, userName: broker }, [10, 100], 'false'),
    }),
  };
}

/** A caller from another account: CloudTrail names only that account. */
export function otherAccount(random: Random, account: string, ip: string, ua: string): Principal {
  const principalId = `AROA${random.chars(17, UPPER_ALNUM)}:${random.hex(12)}`;
  return { type: 'AWSAccount', arn: `arn:aws:iam::${account}:root`, ip, ua, identity: () => ({ type: 'AWSAccount', principalId, accountId: account }) };
}

export function awsService(invokedBy: string): Principal {
  return { type: 'AWSService', arn: null, ip: invokedBy, ua: invokedBy, identity: () => ({ type: 'AWSService', invokedBy }) };
}

/** `p` calling through an AWS service (EBS creating a grant for the caller...): the service is the source and agent. */
export function through(p: Principal, service: string): Principal {
  return { ...p, ip: service, ua: service, identity: (t) => ({ ...p.identity(t), invokedBy: service }) };
}
