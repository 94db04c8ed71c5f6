// The EventBridge path, in every member account and region (a StackSet): a rule on the default bus forwarding the catalog's events to the central bus.
import { CfnOutput, CfnParameter, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { CfnRule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { buildEventPattern } from '../../src/catalog/event-pattern.ts';
import type { NagOptions } from './nag.ts';

export interface EventBridgeMemberStackProps extends StackProps {
  readonly nag: NagOptions;
}

/**
 * Nothing here names an account or a region: the central bus is a parameter and everything else comes from
 * pseudo parameters, so one template serves every stack instance of a StackSet. CloudTrail puts each
 * account's management events on that account's default bus in each region; the rule (the pattern
 * `kms-change-exporter event-pattern` prints) sends the matching ones to the central bus, in another account:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 */
export class EventBridgeMemberStack extends Stack {
  constructor(scope: Construct, id: string, props: EventBridgeMemberStackProps) {
    super(scope, id, props);

    const centralBusArn = new CfnParameter(this, 'CentralEventBusArn', {
      type: 'String',
      description: 'ARN of the central event bus (the central stack\'s EventBusArn output).',
      allowedPattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/[A-Za-z0-9._\\-/]{1,256}$',
    });
    const ruleName = new CfnParameter(this, 'RuleName', {
      type: 'String',
      default: 'kms-change-exporter-forward',
      description: 'Name of the rule on the default bus (give it to the exporter\'s --eventbridge-rule).',
      allowedPattern: '^[\\.\\-_A-Za-z0-9]{1,64}$',
    });

    // EventBridge recommends a role whenever a rule's target is an event bus, and requires one for a bus in
    // another account: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html
    // The trust is the one EventBridge documents for target roles (events.amazonaws.com, no condition: it
    // documents no source keys for assuming them); who may hand the role to a rule is iam:PassRole's to decide.
    const role = new Role(this, 'ForwardRole', {
      description: 'EventBridge puts the KMS and pipeline CloudTrail events on the central kms-change-exporter bus',
      assumedBy: new ServicePrincipal('events.amazonaws.com'),
    });
    role.addToPolicy(new PolicyStatement({ actions: ['events:PutEvents'], resources: [centralBusArn.valueAsString] }));

    const rule = new CfnRule(this, 'ForwardRule', {
      name: ruleName.valueAsString,
      description: 'kms-change-exporter: forwards KMS configuration changes and the pipeline\'s own changes (CloudTrail) to the central bus',
      eventBusName: 'default',
      state: 'ENABLED',
      eventPattern: buildEventPattern(),
      targets: [{
        id: 'CentralEventBus',
        arn: centralBusArn.valueAsString,
        roleArn: role.roleArn,
        // A day and 185 attempts, EventBridge's default for a rule target, stated so it is not left to a default:
        // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html. No DLQ here: one
        // queue per member account and region would be one more thing nobody watches; the central rule has
        // one, and a drop here shows as this rule's FailedInvocations.
        retryPolicy: { maximumEventAgeInSeconds: 86_400, maximumRetryAttempts: 185 },
      }],
    });

    new CfnOutput(this, 'ForwardRuleArn', { value: rule.attrArn, description: 'The forwarding rule on the default bus' });
  }
}
