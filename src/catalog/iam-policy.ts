// The least-privilege IAM policy for the chosen sources, scoped to the log groups they read.

import { HEARTBEAT_TAG_KEY } from '../classify/heartbeat-record.ts';
import { partitionOf } from '../classify/key-identity.ts';
import { queueArn } from './queue-url.ts';
import type { QueueUrl } from './queue-url.ts';

export interface IamPolicyRequest {
  readonly sources: readonly string[];
  /** Log group names or ARNs. */
  readonly logGroups: readonly string[];
  readonly region: string;
  readonly account: string;
  /** firehose: the delivery stream the subscription filter writes to. */
  readonly deliveryStream?: string;
  /** --heartbeat-key: the canary key ARNs the exporter tags. */
  readonly heartbeatKeys?: readonly string[];
  /** sqs: the queues received from. */
  readonly queues?: readonly QueueUrl[];
  /** sqs: the customer managed KMS keys of SSE-KMS queues (their ARNs). */
  readonly queueKeys?: readonly string[];
}

interface Statement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[] | string;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export interface IamPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Statement[];
}

export const DEFAULT_DELIVERY_STREAM = 'kms-change-exporter';

const LOG_GROUP_ARN = /^arn:(aws[a-z-]*):logs:([^:]+):([^:]+):log-group:([^:]+)(:\*)?$/;

/** A log group's ARN as IAM matches it: the bare group ARN (StartLiveTail's form) and its streams. */
export function logGroupArn(group: string, region: string, account: string): string {
  const arn = LOG_GROUP_ARN.exec(group);
  if (arn !== null) return `arn:${arn[1]}:logs:${arn[2]}:${arn[3]}:log-group:${arn[4]}`;
  return `arn:${partitionOf(region)}:logs:${region}:${account}:log-group:${group}`;
}

/**
 * poll needs FilterLogEvents on each log group; live-tail needs StartLiveTail on each
 * log group, StopLiveTail (which takes no resource), DescribeLogGroups when groups are
 * named without an ARN, plus FilterLogEvents for the reconciling poll. The exporter calls no AWS API for
 * firehose (Firehose pushes to it) or replay (local files): firehose's policy is the one of the role CloudWatch
 * Logs assumes to put the subscription filter's records into the delivery stream. sqs receives, deletes and
 * extends the visibility of messages on its queues, and decrypts with an SSE-KMS queue's customer managed key.
 * The heartbeat adds kms:TagResource on its canary keys, for its one tag.
 */
export function buildIamPolicy(request: IamPolicyRequest): IamPolicy {
  const groups = request.logGroups;
  const resources = groups.flatMap((group) => {
    const arn = logGroupArn(group, request.region, request.account);
    return [arn, `${arn}:*`];
  });
  const statements: Statement[] = [];
  const wantsPoll = request.sources.includes('poll') || request.sources.includes('live-tail');
  if (wantsPoll) statements.push({ Sid: 'ReadCloudTrailLogGroups', Effect: 'Allow', Action: ['logs:FilterLogEvents'], Resource: resources });
  if (request.sources.includes('live-tail')) {
    statements.push({ Sid: 'LiveTailCloudTrailLogGroups', Effect: 'Allow', Action: ['logs:StartLiveTail'], Resource: resources });
    statements.push({ Sid: 'StopOwnLiveTailSessions', Effect: 'Allow', Action: ['logs:StopLiveTail'], Resource: '*' });
    // StartLiveTail takes ARNs only: log groups given by name are looked up once at start.
    const named = groups.filter((group) => !LOG_GROUP_ARN.test(group));
    if (named.length > 0) {
      statements.push({ Sid: 'ResolveLogGroupArns', Effect: 'Allow', Action: ['logs:DescribeLogGroups'], Resource: [`arn:${partitionOf(request.region)}:logs:${request.region}:${request.account}:log-group:*`] });
    }
  }
  if (request.sources.includes('firehose')) {
    const stream = request.deliveryStream ?? DEFAULT_DELIVERY_STREAM;
    statements.push({ Sid: 'SubscriptionFilterPutsIntoFirehose', Effect: 'Allow', Action: ['firehose:PutRecord', 'firehose:PutRecordBatch'], Resource: [`arn:${partitionOf(request.region)}:firehose:${request.region}:${request.account}:deliverystream/${stream}`] });
  }
  if (request.sources.includes('sqs')) {
    // DeleteMessageBatch and ChangeMessageVisibilityBatch are authorized as sqs:DeleteMessage and
    // sqs:ChangeMessageVisibility (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
    const queues = (request.queues ?? []).map((queue) => queueArn(queue, queue.region ?? request.region));
    statements.push({ Sid: 'ReceiveEventBridgeQueues', Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'], Resource: queues });
    // A consumer of an SSE-KMS queue decrypts with the queue's key; SSE-SQS (the default) needs nothing
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
    if ((request.queueKeys ?? []).length > 0) statements.push({ Sid: 'DecryptEventBridgeQueues', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: request.queueKeys! });
  }
  const canaries = request.heartbeatKeys ?? [];
  if (canaries.length > 0) {
    // The canary keys only, and only the heartbeat's own tag: the role cannot retag (and so re-label) other keys.
    statements.push({ Sid: 'HeartbeatTagsCanaryKeys', Effect: 'Allow', Action: ['kms:TagResource'], Resource: canaries, Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [HEARTBEAT_TAG_KEY] } } });
  }
  return { Version: '2012-10-17', Statement: statements };
}
