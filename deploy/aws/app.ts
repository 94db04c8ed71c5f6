// The CDK app: every stack of the AWS side, checked by cdk-nag; `cdk deploy --app 'node deploy/aws/app.ts'` deploys it, `npm run synth` writes its templates.
import { App, CliCredentialsStackSynthesizer, Validations } from 'aws-cdk-lib';
import type { IStackSynthesizer, Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fileURLToPath } from 'node:url';
import { CloudWatchLogsFirehoseStack } from './cloudwatch-logs-firehose-stack.ts';
import { EventBridgeCentralStack } from './eventbridge-central-stack.ts';
import { EventBridgeMemberStack } from './eventbridge-member-stack.ts';
import type { NagOptions } from './nag.ts';

/** Stack names, which are also the template file names under deploy/aws/templates/. */
export const STACK_NAMES = {
  cloudWatchLogsFirehose: 'KmsChangeExporterCloudWatchLogsFirehose',
  eventBridgeMember: 'KmsChangeExporterEventBridgeMember',
  eventBridgeCentralApiDestination: 'KmsChangeExporterEventBridgeCentralApiDestination',
  eventBridgeCentralSqs: 'KmsChangeExporterEventBridgeCentralSqs',
} as const;

export interface AwsApp {
  readonly app: App;
  readonly stacks: Readonly<Record<keyof typeof STACK_NAMES, Stack>>;
}

export interface BuildOptions {
  /** Where `app.synth()` writes the cloud assembly (default: the CDK's, cdk.out or the CLI's choice). */
  readonly outdir?: string;
  /** false synthesizes with no acknowledgement applied, to show what each one answers (tests). */
  readonly acknowledge?: boolean;
}

const GENERATED = 'Generated from deploy/aws/ (AWS CDK) by `npm run synth`; do not edit, change the TypeScript and run it again.';

/**
 * Builds the app. Templates must be the same on every machine and usable without CDK (StackSets take no
 * assets and no bootstrap): the CLI-credentials synthesizer adds no bootstrap version parameter or rule,
 * and no analytics, version or path metadata goes into the templates.
 */
export function buildAwsApp(options: BuildOptions = {}): AwsApp {
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    analyticsReporting: false,
    context: {
      'aws:cdk:enable-path-metadata': false,
      'aws:cdk:version-reporting': false,
      // Server access logs granted by a bucket policy, not the legacy LogDeliveryWrite ACL (cfn-lint W3045).
      '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
    },
  });
  const nag: NagOptions = { acknowledge: options.acknowledge ?? true };
  // aws-cdk-lib's classes are typed without exactOptionalPropertyTypes (a class field `T | undefined` where the
  // interface has `field?: T`): widening to the interface is the whole of the mismatch.
  const common = (purpose: string) => ({ synthesizer: new CliCredentialsStackSynthesizer() as IStackSynthesizer, description: `kms-change-exporter: ${purpose}. ${GENERATED}`, nag });
  const stacks = {
    cloudWatchLogsFirehose: new CloudWatchLogsFirehoseStack(app, STACK_NAMES.cloudWatchLogsFirehose, common('CloudTrail log group subscription filter to a Firehose stream pushing to the exporter')),
    eventBridgeMember: new EventBridgeMemberStack(app, STACK_NAMES.eventBridgeMember, common('member account rule forwarding the catalog\'s CloudTrail events to the central bus (StackSet)')),
    eventBridgeCentralApiDestination: new EventBridgeCentralStack(app, STACK_NAMES.eventBridgeCentralApiDestination, { ...common('central event bus for the organisation, delivering to the exporter\'s /eventbridge through an API destination'), delivery: 'api-destination' }),
    eventBridgeCentralSqs: new EventBridgeCentralStack(app, STACK_NAMES.eventBridgeCentralSqs, { ...common('central event bus for the organisation, delivering to an SQS queue the exporter pulls'), delivery: 'sqs' }),
  };
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stacks };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Run by the CDK CLI (`cdk deploy --app 'node deploy/aws/app.ts'`), which gives the outdir in CDK_OUTDIR.
  buildAwsApp().app.synth();
}
