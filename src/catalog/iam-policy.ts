// The least-privilege IAM policy for the chosen sources, scoped to the log groups they read.

import { partitionOf } from '../classify/key-identity.ts';

export interface IamPolicyRequest {
  readonly sources: readonly string[];
  /** Log group names or ARNs. */
  readonly logGroups: readonly string[];
  /** For log groups given by name: `*` when unknown. */
  readonly region: string;
  readonly account: string;
}

interface Statement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[] | string;
}

export interface IamPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Statement[];
}

const LOG_GROUP_ARN = /^arn:(aws[a-z-]*):logs:([^:]+):([^:]+):log-group:([^:]+)(:\*)?$/;

/** A log group's ARN as IAM matches it: the bare group ARN (StartLiveTail's form) and its streams. */
export function logGroupArn(group: string, region: string, account: string): string {
  const arn = LOG_GROUP_ARN.exec(group);
  if (arn !== null) return `arn:${arn[1]}:logs:${arn[2]}:${arn[3]}:log-group:${arn[4]}`;
  return `arn:${region === '*' ? 'aws' : partitionOf(region)}:logs:${region}:${account}:log-group:${group}`;
}

/**
 * poll needs FilterLogEvents on each log group; live-tail needs StartLiveTail on each
 * log group, StopLiveTail (which takes no resource), DescribeLogGroups when groups are
 * named without an ARN, plus FilterLogEvents for the reconciling poll. firehose and replay call no AWS API: Firehose pushes to us, with a
 * role of its own that CloudWatch Logs assumes.
 */
export function buildIamPolicy(request: IamPolicyRequest): IamPolicy {
  const groups = request.logGroups.length > 0 ? request.logGroups : ['*'];
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
      statements.push({ Sid: 'ResolveLogGroupArns', Effect: 'Allow', Action: ['logs:DescribeLogGroups'], Resource: [`arn:${request.region === '*' ? 'aws' : partitionOf(request.region)}:logs:${request.region}:${request.account}:log-group:*`] });
    }
  }
  return { Version: '2012-10-17', Statement: statements };
}
