// The CloudWatch Logs path: a subscription filter on the CloudTrail log group, into a Firehose stream that pushes to the exporter's /firehose.
import { ArnFormat, Aws, CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { CfnElement, StackProps } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { CfnSubscriptionFilter, LogGroup, LogStream, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { buildFilterPattern } from '../../src/catalog/filter-pattern.ts';
import { DEFAULT_DELIVERY_STREAM } from '../../src/catalog/iam-policy.ts';
import { acknowledge } from './nag.ts';
import type { NagOptions } from './nag.ts';

export interface CloudWatchLogsFirehoseStackProps extends StackProps {
  readonly nag: NagOptions;
}

/** The actions the CloudWatch Logs role needs on the stream: those `iam-policy --source firehose` prints. */
export const CWL_TO_FIREHOSE_ACTIONS = ['firehose:PutRecord', 'firehose:PutRecordBatch'];

/** The secret's JSON key Firehose reads an HTTP endpoint's access key from: https://docs.aws.amazon.com/firehose/latest/dev/secrets-manager-whats-secret.html */
export const FIREHOSE_SECRET_KEY = 'api_key';

/**
 * CloudTrail log group → subscription filter (the pattern `kms-change-exporter filter-pattern` prints)
 * → Firehose (HTTP endpoint: the exporter's /firehose, GZIP, the access key from Secrets Manager) → the
 * exporter; what Firehose cannot deliver within the retry duration goes to an S3 bucket.
 */
export class CloudWatchLogsFirehoseStack extends Stack {
  constructor(scope: Construct, id: string, props: CloudWatchLogsFirehoseStackProps) {
    super(scope, id, props);
    const nag = props.nag;

    const logGroupName = new CfnParameter(this, 'CloudTrailLogGroupName', {
      type: 'String',
      description: 'The CloudWatch Logs log group CloudTrail writes to (in this account and region).',
      allowedPattern: '^[\\.\\-_/#A-Za-z0-9]{1,512}$',
    });
    const endpointUrl = new CfnParameter(this, 'FirehoseEndpointUrl', {
      type: 'String',
      description: "The exporter's /firehose URL. Firehose delivers to HTTPS on port 443 only.",
      allowedPattern: '^https://[^\\s:/]+(:443)?/.*$',
      constraintDescription: 'an https:// URL on port 443, such as https://kms-exporter.example.com/firehose',
    });
    const streamName = new CfnParameter(this, 'DeliveryStreamName', {
      type: 'String',
      default: DEFAULT_DELIVERY_STREAM,
      description: 'Name of the Firehose stream (the one `kms-change-exporter iam-policy --source firehose --delivery-stream` names).',
      allowedPattern: '^[a-zA-Z0-9_.-]{1,64}$',
    });
    // Firehose's limits for an HTTP endpoint destination: https://docs.aws.amazon.com/firehose/latest/APIReference/API_HttpEndpointBufferingHints.html
    // and API_HttpEndpointRetryOptions.html. Small buffers: the point is to see a change within a minute, not to batch.
    const bufferSeconds = new CfnParameter(this, 'BufferingIntervalSeconds', {
      type: 'Number', default: 60, minValue: 0, maxValue: 900,
      description: 'Longest Firehose waits before a delivery (0 to 900 s).',
    });
    const bufferMiB = new CfnParameter(this, 'BufferingSizeMiB', {
      type: 'Number', default: 1, minValue: 1, maxValue: 64,
      description: "Largest delivery before gzip, in MiB (1 to 64); keep it within the exporter's --firehose-max-body (64MiB by default).",
    });
    const retrySeconds = new CfnParameter(this, 'RetryDurationSeconds', {
      type: 'Number', default: 3600, minValue: 0, maxValue: 7200,
      description: 'How long Firehose retries a delivery the exporter refused or did not answer before it goes to the backup bucket (0 to 7200 s).',
    });
    const backupDays = new CfnParameter(this, 'BackupRetentionDays', {
      type: 'Number', default: 90, minValue: 1,
      description: 'Days the backup bucket keeps records Firehose could not deliver (replay them with `kms-change-exporter replay s3://...`).',
    });

    // The access key Firehose sends as X-Amz-Firehose-Access-Key; the exporter reads the same value
    // (--firehose-access-key-file or KMS_EXPORTER_FIREHOSE_ACCESS_KEY).
    const accessKey = new Secret(this, 'AccessKey', {
      description: "Access key Firehose sends to the exporter's /firehose (JSON key api_key).",
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: FIREHOSE_SECRET_KEY, excludePunctuation: true, passwordLength: 64 },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(accessKey, nag, 'AwsSolutions-SMG4',
      'Not rotated by a Lambda: the exporter loads the key at start and Firehose caches the secret for up to 10 minutes, so a rotation must update the secret and every exporter replica together; deploy/aws/README.md gives the procedure (during the switch Firehose retries the refused deliveries).');

    const accessLogs = new Bucket(this, 'BackupAccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const backup = new Bucket(this, 'FailedDeliveries', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      // aws-cdk-lib is typed without exactOptionalPropertyTypes; a Bucket is an IBucket.
      serverAccessLogsBucket: accessLogs as IBucket,
      serverAccessLogsPrefix: 'failed-deliveries/',
      lifecycleRules: [{ expiration: Duration.days(backupDays.valueAsNumber) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const errorLogs = new LogGroup(this, 'DeliveryErrors', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const errorStream = new LogStream(this, 'DeliveryErrorsStream', { logGroup: errorLogs, logStreamName: 'HttpEndpointDelivery', removalPolicy: RemovalPolicy.DESTROY });

    // Firehose's role: write failed records to the bucket, read the access key, log delivery errors.
    // Trust as the Firehose developer guide gives it, with the account as external id (confused deputy):
    // https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html
    const firehoseRole = new Role(this, 'FirehoseRole', {
      description: 'Firehose delivers CloudTrail records to kms-change-exporter and backs failed ones up to S3',
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'sts:ExternalId': Aws.ACCOUNT_ID } } }),
    });
    firehoseRole.addToPolicy(new PolicyStatement({
      actions: ['s3:AbortMultipartUpload', 's3:GetBucketLocation', 's3:GetObject', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:PutObject'],
      resources: [backup.bucketArn, backup.arnForObjects('*')],
    }));
    acknowledge(firehoseRole, nag, `AwsSolutions-IAM5[Resource::<${this.getLogicalId(backup.node.defaultChild as CfnElement)}.Arn>/*]`,
      'Firehose names the backup objects itself (date-based keys); the wildcard is the objects of this one bucket.');
    firehoseRole.addToPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [accessKey.secretArn] }));
    firehoseRole.addToPolicy(new PolicyStatement({
      actions: ['logs:PutLogEvents'],
      resources: [this.formatArn({ service: 'logs', resource: 'log-group', resourceName: `${errorLogs.logGroupName}:log-stream:${errorStream.logStreamName}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));

    const stream = new CfnDeliveryStream(this, 'DeliveryStream', {
      deliveryStreamName: streamName.valueAsString,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      httpEndpointDestinationConfiguration: {
        endpointConfiguration: { url: endpointUrl.valueAsString, name: 'kms-change-exporter' },
        // The exporter accepts gzip request bodies (and gzip records inside them).
        requestConfiguration: { contentEncoding: 'GZIP' },
        bufferingHints: { intervalInSeconds: bufferSeconds.valueAsNumber, sizeInMBs: bufferMiB.valueAsNumber },
        retryOptions: { durationInSeconds: retrySeconds.valueAsNumber },
        secretsManagerConfiguration: { enabled: true, secretArn: accessKey.secretArn, roleArn: firehoseRole.roleArn },
        roleArn: firehoseRole.roleArn,
        s3BackupMode: 'FailedDataOnly',
        s3Configuration: {
          bucketArn: backup.bucketArn,
          roleArn: firehoseRole.roleArn,
          prefix: 'failed/',
          errorOutputPrefix: 'errors/!{firehose:error-output-type}/',
          compressionFormat: 'GZIP',
        },
        cloudWatchLoggingOptions: { enabled: true, logGroupName: errorLogs.logGroupName, logStreamName: errorStream.logStreamName },
      },
    });
    // Firehose checks its role when the stream is created: the stream waits for the role's policy (the role itself it references).
    stream.node.addDependency(firehoseRole.node.findChild('DefaultPolicy'));

    // CloudWatch Logs' role for the subscription filter, trusted only for this account and region's
    // log groups (aws:SourceArn, as the CloudWatch Logs guide gives it for Firehose subscriptions:
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#FirehoseExample).
    const logsRole = new Role(this, 'CloudWatchLogsRole', {
      description: 'CloudWatch Logs puts the subscription filter matches into the kms-change-exporter Firehose stream',
      assumedBy: new ServicePrincipal('logs.amazonaws.com', {
        conditions: { StringLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` } },
      }),
    });
    const logsPolicy = new PolicyStatement({ actions: CWL_TO_FIREHOSE_ACTIONS, resources: [stream.attrArn] });
    logsRole.addToPolicy(logsPolicy);

    // The filter the exporter prints: the deployed selection is the one its tests check.
    const filter = new CfnSubscriptionFilter(this, 'SubscriptionFilter', {
      filterName: 'kms-change-exporter',
      logGroupName: logGroupName.valueAsString,
      filterPattern: buildFilterPattern(),
      destinationArn: stream.attrArn,
      roleArn: logsRole.roleArn,
    });
    // PutSubscriptionFilter tests the role against the stream: the policy must exist first.
    filter.node.addDependency(logsRole.node.findChild('DefaultPolicy'));

    new CfnOutput(this, 'DeliveryStreamArn', { value: stream.attrArn, description: 'The Firehose stream' });
    new CfnOutput(this, 'AccessKeySecretArn', { value: accessKey.secretArn, description: 'Secret holding the access key (JSON key api_key): give its value to the exporter' });
    new CfnOutput(this, 'FailedDeliveriesBucket', { value: backup.bucketName, description: 'Where Firehose puts what it could not deliver' });
  }
}
