// The EventBridge path's central account: the bus the organisation's members forward to, and its delivery to the exporter (API destination or SQS queue).
import { Aws, CfnOutput, CfnParameter, Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { CfnApiDestination, CfnConnection, CfnEventBus, CfnRule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { buildEventPattern } from '../../src/catalog/event-pattern.ts';
import { acknowledge } from './nag.ts';
import type { NagOptions } from './nag.ts';

/** How the central bus hands the events to the exporter: it pulls from a queue (no inbound HTTPS), or EventBridge posts to it. */
export type CentralDelivery = 'api-destination' | 'sqs';

export interface EventBridgeCentralStackProps extends StackProps {
  readonly delivery: CentralDelivery;
  readonly nag: NagOptions;
}

/** The JSON key of the generated API key in its secret (the exporter's KMS_EXPORTER_EVENTBRIDGE_API_KEY). */
export const API_KEY_SECRET_KEY = 'api_key';

/** A rule's retry policy toward the exporter: EventBridge's default of a day and 185 attempts, stated (eb-rule-retry-policy.html). */
const RETRY_POLICY = { maximumEventAgeInSeconds: 86_400, maximumRetryAttempts: 185 };

/**
 * The bus, open to PutEvents from the organisation's accounts only (aws:PrincipalOrgID), and a rule on it
 * with the same pattern the members use (a member that forwards more, by mistake or not, still delivers
 * only the catalog's events), targeting either an API destination (POST /eventbridge on the exporter,
 * API-key connection) or an SQS queue the exporter pulls (`--source sqs --queue-url`). Either way a
 * dead-letter queue keeps what EventBridge could not deliver, and a queue's redrive policy keeps what
 * the exporter could not read.
 */
export class EventBridgeCentralStack extends Stack {
  constructor(scope: Construct, id: string, props: EventBridgeCentralStackProps) {
    super(scope, id, props);
    const nag = props.nag;

    const orgId = new CfnParameter(this, 'OrganizationId', {
      type: 'String',
      description: 'The AWS Organizations id whose accounts may put events on the bus (aws:PrincipalOrgID).',
      allowedPattern: '^o-[a-z0-9]{10,32}$',
    });
    const busName = new CfnParameter(this, 'EventBusName', {
      type: 'String',
      default: 'kms-change-exporter',
      description: 'Name of the central event bus.',
      allowedPattern: '^[\\.\\-_A-Za-z0-9]{1,256}$',
    });

    // "Permissions for event buses": a resource policy granting PutEvents to the organisation's accounts by
    // aws:PrincipalOrgID, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
    // (the bus's own Policy property; its ARN is spelled out since a resource cannot reference itself).
    const busArn = `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:event-bus/${busName.valueAsString}`;
    // A fixed name, so the exporter can be told its own path (--eventbridge-rule) and mark changes to it.
    const ruleName = new CfnParameter(this, 'RuleName', {
      type: 'String',
      default: 'kms-change-exporter-deliver',
      description: 'Name of the rule on the central bus (give it to the exporter\'s --eventbridge-rule).',
      allowedPattern: '^[\\.\\-_A-Za-z0-9]{1,64}$',
    });
    const bus = new CfnEventBus(this, 'EventBus', {
      name: busName.valueAsString,
      description: 'kms-change-exporter: KMS and pipeline CloudTrail events forwarded by the organisation\'s accounts',
      policy: {
        Version: '2012-10-17',
        Statement: [{
          Sid: 'OrganizationMayPutEvents',
          Effect: 'Allow',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: busArn,
          Condition: { StringEquals: { 'aws:PrincipalOrgID': orgId.valueAsString } },
        }],
      },
    });

    // What EventBridge could not deliver after its retries (the exporter down for a day, refused for good).
    const deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // With the SQS delivery it is also the events queue's redrive target, which cdk-nag recognises as a DLQ.
    if (props.delivery === 'api-destination') {
      acknowledge(deadLetters, nag, 'AwsSolutions-SQS3', "This is the rule's dead-letter queue (DeadLetterConfig), which cdk-nag does not see as one: its messages are the end of the line, inspected and replayed by hand, not redriven further.");
    }

    // The queues the rule sends to: the dead-letter queue, and in the SQS variant the queue the exporter pulls.
    const ruleQueues: Queue[] = [deadLetters];

    let target: CfnRule.TargetProperty;
    if (props.delivery === 'sqs') {
      const receiveCount = new CfnParameter(this, 'MaxReceiveCount', {
        type: 'Number', default: 5, minValue: 1, maxValue: 1000,
        description: 'Receives of a message the exporter could not read (malformed, it leaves them) before SQS moves it to the dead-letter queue.',
      });
      const visibility = new CfnParameter(this, 'VisibilityTimeoutSeconds', {
        type: 'Number', default: 60, minValue: 0, maxValue: 43_200,
        description: 'How long a received message stays hidden before another receive may take it; the exporter extends it for a slow batch.',
      });
      const queue = new Queue(this, 'Events', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(4),
        visibilityTimeout: Duration.seconds(visibility.valueAsNumber),
        receiveMessageWaitTime: Duration.seconds(20),
        deadLetterQueue: { queue: deadLetters, maxReceiveCount: receiveCount.valueAsNumber },
        removalPolicy: RemovalPolicy.DESTROY,
      });
      ruleQueues.push(queue);
      target = { id: 'ExporterQueue', arn: queue.queueArn, retryPolicy: RETRY_POLICY, deadLetterConfig: { arn: deadLetters.queueArn } };
      new CfnOutput(this, 'QueueUrl', { value: queue.queueUrl, description: 'For kms-change-exporter serve --source sqs --queue-url' });
      new CfnOutput(this, 'QueueArn', { value: queue.queueArn, description: 'For kms-change-exporter iam-policy --source sqs' });
    } else {
      const endpoint = new CfnParameter(this, 'EventBridgeEndpointUrl', {
        type: 'String',
        description: "The exporter's /eventbridge URL (HTTPS).",
        allowedPattern: '^https://\\S+$',
      });
      const headerName = new CfnParameter(this, 'ApiKeyHeaderName', {
        type: 'String',
        default: 'x-api-key',
        description: 'Header the connection sends the API key in (the exporter\'s --eventbridge-api-key-header).',
        allowedPattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,512}$',
      });
      const rate = new CfnParameter(this, 'InvocationRateLimitPerSecond', {
        type: 'Number', default: 300, minValue: 1,
        description: 'Most requests per second EventBridge sends the exporter; beyond it events wait and are retried.',
      });
      const apiKey = new Secret(this, 'ApiKey', {
        description: "API key the EventBridge connection sends to the exporter's /eventbridge (JSON key api_key).",
        generateSecretString: { secretStringTemplate: '{}', generateStringKey: API_KEY_SECRET_KEY, excludePunctuation: true, passwordLength: 64 },
        removalPolicy: RemovalPolicy.DESTROY,
      });
      acknowledge(apiKey, nag, 'AwsSolutions-SMG4',
        'Not rotated by a Lambda: the connection copies the key when it is created or updated and the exporter loads it at start, so a rotation updates the secret, the stack (the connection) and every exporter replica together; deploy/aws/README.md gives the procedure.');
      // The connection keeps its own copy of the key in a secret EventBridge manages; CloudFormation passes it
      // by dynamic reference, so the value is in no template: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html
      const connection = new CfnConnection(this, 'Connection', {
        description: 'kms-change-exporter /eventbridge: API key',
        authorizationType: 'API_KEY',
        authParameters: {
          apiKeyAuthParameters: {
            apiKeyName: headerName.valueAsString,
            apiKeyValue: SecretValue.secretsManager(apiKey.secretArn, { jsonField: API_KEY_SECRET_KEY }).unsafeUnwrap(),
          },
        },
      });
      const destination = new CfnApiDestination(this, 'ApiDestination', {
        description: 'kms-change-exporter POST /eventbridge',
        connectionArn: connection.attrArn,
        invocationEndpoint: endpoint.valueAsString,
        httpMethod: 'POST',
        invocationRateLimitPerSecond: rate.valueAsNumber,
      });
      // The trust EventBridge documents for target roles (see the member stack); iam:PassRole gates who attaches it.
      const role = new Role(this, 'InvokeRole', {
        description: 'EventBridge invokes the kms-change-exporter API destination',
        assumedBy: new ServicePrincipal('events.amazonaws.com'),
      });
      role.addToPolicy(new PolicyStatement({ actions: ['events:InvokeApiDestination'], resources: [destination.attrArn] }));
      target = { id: 'ExporterApiDestination', arn: destination.attrArn, roleArn: role.roleArn, retryPolicy: RETRY_POLICY, deadLetterConfig: { arn: deadLetters.queueArn } };
      new CfnOutput(this, 'ApiKeySecretArn', { value: apiKey.secretArn, description: 'Secret holding the API key (JSON key api_key): give its value to the exporter' });
    }

    const rule = new CfnRule(this, 'ToExporter', {
      name: ruleName.valueAsString,
      description: 'kms-change-exporter: the catalog\'s CloudTrail events to the exporter',
      eventBusName: bus.ref,
      state: 'ENABLED',
      eventPattern: buildEventPattern(),
      targets: [target],
    });
    // EventBridge sends to a queue only as its queue policy allows, narrowed to this rule (aws:SourceArn):
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions
    for (const queue of ruleQueues) {
      queue.addToResourcePolicy(new PolicyStatement({
        sid: 'TheRuleMaySend',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': rule.attrArn } },
      }));
    }

    new CfnOutput(this, 'EventBusArn', { value: bus.attrArn, description: 'For the member stack\'s CentralEventBusArn' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetters.queueUrl, description: 'What EventBridge or the exporter could not take: watch its depth' });
  }
}
