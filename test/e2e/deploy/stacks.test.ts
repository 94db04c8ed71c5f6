// Every AWS CDK stack synthesizes, embeds the patterns the exporter prints, has the properties each delivery path depends on, and passes cdk-nag's AwsSolutions checks with only justified acknowledgements.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildAwsApp, STACK_NAMES } from '../../../deploy/aws/app.ts';
import { CWL_TO_FIREHOSE_ACTIONS } from '../../../deploy/aws/cloudwatch-logs-firehose-stack.ts';
import { acknowledgements } from '../../../deploy/aws/nag.ts';
import { buildEventPattern } from '../../../src/catalog/event-pattern.ts';
import { buildFilterPattern } from '../../../src/catalog/filter-pattern.ts';
import { buildIamPolicy, DEFAULT_DELIVERY_STREAM } from '../../../src/catalog/iam-policy.ts';

interface Violation {
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

/** Synthesizes into a fresh directory; cdk-nag's findings are in the validation report CDK writes when any remain. */
function synthesize(acknowledge: boolean): { built: ReturnType<typeof buildAwsApp>; violations: Violation[]; error: unknown } {
  const outdir = mkdtempSync(join(tmpdir(), 'kce-cdk-test-'));
  const built = buildAwsApp({ outdir, acknowledge });
  let error: unknown;
  // cdk-nag prints each finding to stderr as well; the report file is what is checked, so keep the test output clean.
  const write = process.stderr.write;
  const writes: string[] = [];
  process.stderr.write = ((chunk: string | Uint8Array) => writes.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    built.app.synth();
  } catch (caught) {
    error = caught;
  } finally {
    process.stderr.write = write;
  }
  const report = join(outdir, 'validation-report.json');
  const violations: Violation[] = [];
  if (existsSync(report)) {
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as { pluginReports: { violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[] }[] };
    for (const plugin of parsed.pluginReports) {
      for (const v of plugin.violations) for (const c of v.violatingConstructs) violations.push({ rule: v.ruleName, severity: v.severity, path: c.constructPath });
    }
  }
  // The assembly's templates are read from outdir when asked for: it goes when the test file ends.
  t.teardown(() => rmSync(outdir, { recursive: true, force: true }));
  return { built, violations, error };
}

const { built, violations, error } = synthesize(true);
const templates = {
  cwl: Template.fromStack(built.stacks.cloudWatchLogsFirehose),
  member: Template.fromStack(built.stacks.eventBridgeMember),
  apiDestination: Template.fromStack(built.stacks.eventBridgeCentralApiDestination),
  sqs: Template.fromStack(built.stacks.eventBridgeCentralSqs),
};

const getAtt = (logicalId: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [logicalId, attribute] });
const ref = (logicalId: string) => ({ Ref: logicalId });
/** The one resource of a type in a template, by logical id. */
function only(template: Template, type: string): [string, { Properties: Record<string, unknown> }] {
  const found = Object.entries(template.findResources(type)) as [string, { Properties: Record<string, unknown> }][];
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

t.test('cdk-nag: every AwsSolutions finding is acknowledged with a reason, and every acknowledgement answers a finding', async (t) => {
  t.equal(error, undefined, 'synth passes the AwsSolutions checks');
  t.same(violations, [], 'no finding left, error or warning');
  const acks = acknowledgements(built.app);
  t.ok(acks.length > 0);
  for (const ack of acks) {
    t.ok(ack.reason.length >= 80, `${ack.id} on ${ack.path}: the reason says why (${ack.reason.length} characters)`);
    t.notMatch(ack.reason, /\b(todo|tbd|fixme|ignore|test)\b/i, `${ack.id}: a reason, not a placeholder`);
  }
  // Without the acknowledgements the checks find exactly what they answer: none is stale, none hides a second finding.
  const bare = synthesize(false);
  t.match(String(bare.error), /Validation failed/, 'without them, synth fails');
  const found = bare.violations.map((v) => `${v.rule} ${v.path}`).sort();
  const answered = bare.violations.filter((v) => acks.some((a) => a.id === v.rule && (v.path === a.path || v.path.startsWith(`${a.path}/`))));
  t.same(answered.length, bare.violations.length, `every finding is acknowledged where it is: ${found.join('; ')}`);
  for (const ack of acks) t.ok(bare.violations.some((v) => v.rule === ack.id && v.path.startsWith(ack.path)), `${ack.id} on ${ack.path} answers a real finding`);
  t.same(bare.violations.map((v) => v.severity).filter((s) => s !== 'error' && s !== 'warning'), [], 'only errors and warnings are reported');
});

t.test('templates are plain CloudFormation: no bootstrap parameter or rule, no assets, no CDK metadata', async (t) => {
  for (const [name, template] of Object.entries(templates)) {
    const json = template.toJSON() as Record<string, unknown>;
    t.same(Object.keys(json).sort(), ['Description', 'Outputs', 'Parameters', 'Resources'], `${name}: only these sections`);
    t.notOk('BootstrapVersion' in (json['Parameters'] as object), `${name}: no bootstrap version parameter`);
    t.match(json['Description'], /^kms-change-exporter: .*Generated from deploy\/aws\/ \(AWS CDK\) by `npm run synth`; do not edit/, `${name}: says it is generated`);
    const text = JSON.stringify(json);
    t.notMatch(text, /"Metadata"|CDKMetadata|aws:cdk:path|cdk-hnb659fds|AssetParameters/, `${name}: no CDK metadata, assets or bootstrap references`);
    t.notMatch(text, /\b\d{12}\b/, `${name}: no account id`);
    t.notMatch(text, /\b(us|eu|ap|sa|ca|me|af|il|mx)-(east|west|north|south|central|northeast|southeast|southwest)-\d\b/, `${name}: no region`);
  }
  for (const stack of Object.values(built.stacks)) {
    const artifact = built.app.synth().getStackByName(stack.stackName);
    t.same(artifact.assets, [], `${stack.stackName}: no assets (StackSets take none)`);
  }
  t.same(Object.values(built.stacks).map((s) => s.stackName).sort(), Object.values(STACK_NAMES).sort());
});

t.test('CloudWatch Logs path: the subscription filter carries the exporter\'s filter pattern into Firehose', async (t) => {
  const tpl = templates.cwl;
  tpl.resourceCountIs('AWS::Logs::SubscriptionFilter', 1);
  const [streamId] = only(tpl, 'AWS::KinesisFirehose::DeliveryStream');
  const [secretId] = only(tpl, 'AWS::SecretsManager::Secret');
  const roles = tpl.findResources('AWS::IAM::Role');
  const roleFor = (service: string): string => Object.entries(roles).find(([, r]) => JSON.stringify(r).includes(`"${service}"`))![0];
  const logsRole = roleFor('logs.amazonaws.com');
  const firehoseRole = roleFor('firehose.amazonaws.com');
  tpl.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
    FilterPattern: buildFilterPattern(),
    LogGroupName: ref('CloudTrailLogGroupName'),
    DestinationArn: getAtt(streamId),
    RoleArn: getAtt(logsRole),
  });
  // The role CloudWatch Logs assumes: trusted for this account and region's log groups only, allowed what iam-policy prints.
  tpl.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'logs.amazonaws.com' }, Condition: { StringLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', ref('AWS::Partition'), ':logs:', ref('AWS::Region'), ':', ref('AWS::AccountId'), ':*']] } } } }] },
  });
  const printed = buildIamPolicy({ sources: ['firehose'], logGroups: [], region: 'eu-west-1', account: '111122223333' }).Statement[0]!.Action;
  t.same(CWL_TO_FIREHOSE_ACTIONS, printed, 'the actions `iam-policy --source firehose` prints');
  tpl.hasResourceProperties('AWS::IAM::Policy', { Roles: [ref(logsRole)], PolicyDocument: { Statement: [{ Action: printed, Effect: 'Allow', Resource: getAtt(streamId) }] } });
  t.same(tpl.findParameters('DeliveryStreamName')['DeliveryStreamName']?.['Default'], DEFAULT_DELIVERY_STREAM, 'the stream name iam-policy assumes by default');

  tpl.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
    DeliveryStreamName: ref('DeliveryStreamName'),
    DeliveryStreamType: 'DirectPut',
    DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
    HttpEndpointDestinationConfiguration: {
      EndpointConfiguration: { Url: ref('FirehoseEndpointUrl'), AccessKey: Match.absent() },
      RequestConfiguration: { ContentEncoding: 'GZIP' },
      SecretsManagerConfiguration: { Enabled: true, SecretARN: ref(secretId), RoleARN: getAtt(firehoseRole) },
      RetryOptions: { DurationInSeconds: ref('RetryDurationSeconds') },
      BufferingHints: { IntervalInSeconds: ref('BufferingIntervalSeconds'), SizeInMBs: ref('BufferingSizeMiB') },
      RoleARN: getAtt(firehoseRole),
      S3BackupMode: 'FailedDataOnly',
      S3Configuration: Match.objectLike({ RoleARN: getAtt(firehoseRole), CompressionFormat: 'GZIP' }),
      CloudWatchLoggingOptions: Match.objectLike({ Enabled: true }),
    },
  });
  const params = tpl.toJSON()['Parameters'] as Record<string, { Default?: unknown; MinValue?: unknown; MaxValue?: unknown; AllowedPattern?: string }>;
  t.match(params['BufferingSizeMiB'], { Default: 1, MinValue: 1, MaxValue: 64 });
  t.match(params['BufferingIntervalSeconds'], { Default: 60, MinValue: 0, MaxValue: 900 });
  t.match(params['RetryDurationSeconds'], { Default: 3600, MinValue: 0, MaxValue: 7200 });
  const url = new RegExp(params['FirehoseEndpointUrl']!.AllowedPattern!);
  t.ok(url.test('https://kms-exporter.example.com/firehose'));
  t.notOk(url.test('http://kms-exporter.example.com/firehose'), 'Firehose delivers to HTTPS only');
  t.notOk(url.test('https://kms-exporter.example.com:8443/firehose'), '… and on port 443 only');

  // The secret Firehose reads the access key from, in the JSON shape it expects.
  tpl.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { GenerateStringKey: 'api_key', SecretStringTemplate: '{}' } });
  tpl.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [ref(firehoseRole)],
    PolicyDocument: { Statement: Match.arrayWith([{ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: ref(secretId) }]) },
  });
  tpl.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'firehose.amazonaws.com' }, Condition: { StringEquals: { 'sts:ExternalId': ref('AWS::AccountId') } } })] },
  });

  // The backup bucket: encrypted, private, TLS only, expiring, logged.
  const buckets = tpl.findResources('AWS::S3::Bucket');
  t.equal(Object.keys(buckets).length, 2, 'the backup bucket and its access log bucket');
  for (const [id, bucket] of Object.entries(buckets) as [string, { Properties: Record<string, unknown> }][]) {
    t.match(bucket.Properties, {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    }, `${id}: encrypted, public access blocked`);
    tpl.hasResourceProperties('AWS::S3::BucketPolicy', { Bucket: ref(id), PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Resource: [getAtt(id), { 'Fn::Join': ['', [getAtt(id), '/*']] }] })]) } });
  }
  const backupId = Object.entries(buckets).find(([, b]) => JSON.stringify(b).includes('LoggingConfiguration'))![0];
  tpl.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', { HttpEndpointDestinationConfiguration: { S3Configuration: Match.objectLike({ BucketARN: getAtt(backupId) }) } });
  tpl.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }), LifecycleConfiguration: { Rules: [{ ExpirationInDays: ref('BackupRetentionDays'), Status: 'Enabled' }] } });
  // CloudWatch Logs checks the role when the filter is created: the filter waits for the role's policy.
  const filter = Object.values(tpl.findResources('AWS::Logs::SubscriptionFilter'))[0] as { DependsOn?: string[] };
  t.ok(filter.DependsOn?.some((id) => id.startsWith('CloudWatchLogsRoleDefaultPolicy')), 'the filter depends on the role policy');
});

t.test('EventBridge member stack: the exporter\'s event pattern forwarded to a central bus given as a parameter', async (t) => {
  const tpl = templates.member;
  tpl.resourceCountIs('AWS::Events::Rule', 1);
  const [roleId] = only(tpl, 'AWS::IAM::Role');
  tpl.hasResourceProperties('AWS::Events::Rule', {
    EventBusName: 'default',
    State: 'ENABLED',
    EventPattern: buildEventPattern(),
    Name: ref('RuleName'),
    Targets: [{ Id: 'CentralEventBus', Arn: ref('CentralEventBusArn'), RoleArn: getAtt(roleId), RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 } }],
  });
  const [, rule] = only(tpl, 'AWS::Events::Rule');
  t.same(rule.Properties['EventPattern'], buildEventPattern(), 'exactly the pattern `event-pattern` prints');
  tpl.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } }] },
  });
  tpl.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: ref('CentralEventBusArn') }] } });
  const pattern = new RegExp((tpl.toJSON()['Parameters'] as Record<string, { AllowedPattern: string }>)['CentralEventBusArn']!.AllowedPattern);
  t.ok(pattern.test('arn:aws:events:eu-west-1:111122223333:event-bus/kms-change-exporter'));
  t.ok(pattern.test('arn:aws-us-gov:events:us-gov-west-1:111122223333:event-bus/kms-change-exporter'));
  t.notOk(pattern.test('arn:aws:sqs:eu-west-1:111122223333:kms-change-exporter'), 'a bus ARN, not another resource');
  tpl.templateMatches({ Outputs: { ForwardRuleArn: Match.anyValue() } });
  t.equal((tpl.toJSON()['Parameters'] as Record<string, { Default?: string }>)['RuleName']?.Default, 'kms-change-exporter-forward');
});

t.test('EventBridge central stacks: an organisation-only bus, the same pattern, and a target with retries and a DLQ', async (t) => {
  for (const [name, tpl] of [['api-destination', templates.apiDestination], ['sqs', templates.sqs]] as const) {
    const [busId, bus] = only(tpl, 'AWS::Events::EventBus');
    t.match(bus.Properties, {
      Name: ref('EventBusName'),
      Policy: { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'events:PutEvents', Condition: { StringEquals: { 'aws:PrincipalOrgID': ref('OrganizationId') } } }] },
    }, `${name}: PutEvents for the organisation only`);
    t.equal((bus.Properties['Policy'] as { Statement: unknown[] }).Statement.length, 1, `${name}: nothing else is granted`);
    const orgPattern = new RegExp((tpl.toJSON()['Parameters'] as Record<string, { AllowedPattern: string }>)['OrganizationId']!.AllowedPattern);
    t.ok(orgPattern.test('o-a1b2c3d4e5'));
    t.notOk(orgPattern.test('111122223333'), `${name}: an organisation id, not an account`);

    const [ruleId, rule] = only(tpl, 'AWS::Events::Rule');
    t.same(rule.Properties['EventPattern'], buildEventPattern(), `${name}: the rule on the bus has the exporter's pattern`);
    t.same(rule.Properties['EventBusName'], ref(busId));
    t.same(rule.Properties['Name'], ref('RuleName'), `${name}: a known name, for the exporter's --eventbridge-rule`);
    t.equal((tpl.toJSON()['Parameters'] as Record<string, { Default?: string }>)['RuleName']?.Default, 'kms-change-exporter-deliver');
    const queues = Object.entries(tpl.findResources('AWS::SQS::Queue')) as [string, { Properties: Record<string, unknown> }][];
    const dlqId = queues.find(([id]) => id.startsWith('DeadLetters'))![0];
    const targets = rule.Properties['Targets'] as Record<string, unknown>[];
    t.equal(targets.length, 1);
    t.match(targets[0], { RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 }, DeadLetterConfig: { Arn: getAtt(dlqId) } }, `${name}: retries and a DLQ`);
    for (const [id, queue] of queues) {
      t.equal(queue.Properties['SqsManagedSseEnabled'], true, `${name} ${id}: encrypted`);
      tpl.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(id)],
        PolicyDocument: { Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          { Sid: 'TheRuleMaySend', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: getAtt(id), Condition: { ArnEquals: { 'aws:SourceArn': getAtt(ruleId) } } },
        ]) },
      });
    }
    t.match(tpl.toJSON()['Outputs'], { EventBusArn: { Value: getAtt(busId) }, DeadLetterQueueUrl: { Value: ref(dlqId) } });
  }

  const api = templates.apiDestination;
  api.resourceCountIs('AWS::SQS::Queue', 1);
  const [secretId] = only(api, 'AWS::SecretsManager::Secret');
  const [connectionId] = only(api, 'AWS::Events::Connection');
  const [destinationId] = only(api, 'AWS::Events::ApiDestination');
  const [roleId] = only(api, 'AWS::IAM::Role');
  api.hasResourceProperties('AWS::Events::Connection', {
    AuthorizationType: 'API_KEY',
    AuthParameters: { ApiKeyAuthParameters: {
      ApiKeyName: ref('ApiKeyHeaderName'),
      // A dynamic reference: the key is in no template, CloudFormation reads it from the secret.
      ApiKeyValue: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', ref(secretId), ':SecretString:api_key::}}']] },
    } },
  });
  t.equal((api.toJSON()['Parameters'] as Record<string, { Default?: string }>)['ApiKeyHeaderName']?.Default, 'x-api-key', 'the exporter\'s default header');
  api.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { GenerateStringKey: 'api_key' } });
  api.hasResourceProperties('AWS::Events::ApiDestination', { ConnectionArn: getAtt(connectionId), HttpMethod: 'POST', InvocationEndpoint: ref('EventBridgeEndpointUrl') });
  api.hasResourceProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ Arn: getAtt(destinationId), RoleArn: getAtt(roleId) })] });
  api.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Action: 'events:InvokeApiDestination', Effect: 'Allow', Resource: getAtt(destinationId) }] } });
  api.hasResourceProperties('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } }] } });

  const sqs = templates.sqs;
  sqs.resourceCountIs('AWS::SQS::Queue', 2);
  sqs.resourceCountIs('AWS::Events::Connection', 0);
  const [eventsId, events] = (Object.entries(sqs.findResources('AWS::SQS::Queue')) as [string, { Properties: Record<string, unknown> }][]).find(([id]) => id.startsWith('Events'))!;
  const dlqId = Object.keys(sqs.findResources('AWS::SQS::Queue')).find((id) => id.startsWith('DeadLetters'))!;
  t.match(events.Properties, {
    RedrivePolicy: { deadLetterTargetArn: getAtt(dlqId), maxReceiveCount: ref('MaxReceiveCount') },
    VisibilityTimeout: ref('VisibilityTimeoutSeconds'),
    ReceiveMessageWaitTimeSeconds: 20,
  }, 'the queue the exporter pulls: redrive to the DLQ, long polling');
  sqs.hasResourceProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ Id: 'ExporterQueue', Arn: getAtt(eventsId), RoleArn: Match.absent() })] });
  t.match(sqs.toJSON()['Outputs'], { QueueUrl: { Value: ref(eventsId) }, QueueArn: { Value: getAtt(eventsId) } });
});

t.test('the CDK CLI runs the app as deploy/aws/README.md says (cd deploy/aws && npx cdk ...)', async (t) => {
  const root = join(import.meta.dirname, '../../..');
  const bin = join(root, 'node_modules/.bin');
  const outdir = mkdtempSync(join(tmpdir(), 'kce-cdk-cli-'));
  t.teardown(() => rmSync(outdir, { recursive: true, force: true }));
  // npx puts node_modules/.bin first on PATH, so cdk.json's `node app.ts` is the project's Node 24.
  const result = spawnSync(join(bin, 'cdk'), ['ls', '--output', outdir], {
    cwd: join(root, 'deploy/aws'), encoding: 'utf8', timeout: 120_000,
    env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, HOME: outdir, CDK_DISABLE_VERSION_CHECK: '1' },
  });
  t.equal(result.status, 0, { stderr: result.stderr });
  t.same(result.stdout.trim().split('\n').sort(), Object.values(STACK_NAMES).sort(), 'cdk ls lists the four stacks');
});
