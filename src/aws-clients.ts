// The AWS SDK clients: default credential chain and region, adaptive retries, paced and counted calls. Built only by the service.

import type { QueueUrl } from './catalog/queue-url.ts';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';
import type { SelfMetrics } from './record/self-metrics.ts';
import { countCalls, paceCalls } from './sources/aws-client-middleware.ts';
import type { CloudWatchLogsApi } from './sources/cloudwatch-logs-api.ts';
import type { S3Api } from './sources/s3-api.ts';
import type { SqsApi } from './sources/sqs-api.ts';

/** The SDK reads AWS_ENDPOINT_URL(_SERVICE) itself; a local endpoint has no `stream-` host for live tail. */
function endpointOverridden(env: NodeJS.ProcessEnv, service: string): boolean {
  return (env[`AWS_ENDPOINT_URL_${service}`] ?? env['AWS_ENDPOINT_URL'] ?? '') !== '';
}

export async function cloudWatchLogs(config: Config, selfMetrics: SelfMetrics, env: NodeJS.ProcessEnv): Promise<CloudWatchLogsApi> {
  // Loaded only when a pull source needs it: the SDK is most of the start time of a push-only service.
  const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
  const { cloudWatchLogsApi } = await import('./sources/cloudwatch-logs-api.ts');
  const client = new CloudWatchLogsClient({
    maxAttempts: config.awsMaxAttempts,
    retryMode: 'adaptive',
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    ...(endpointOverridden(env, 'CLOUDWATCH_LOGS') ? { disableHostPrefix: true } : {}),
    ...(config.region === undefined ? {} : { region: config.region }),
  });
  // Without a region the SDK fails every call ("Region is missing") and the service would poll in vain: refuse at start.
  const region = await client.config.region().catch(() => undefined);
  if (region === undefined || region === '') {
    throw new ConfigError('--region', 'AWS_REGION', 'the poll and live-tail sources need the region of their log groups: set AWS_REGION, give --region, or a region in the AWS profile (~/.aws/config)');
  }
  client.middlewareStack.use(countCalls(selfMetrics));
  client.middlewareStack.use(paceCalls(config.awsCallsPerSecond, new Set(['FilterLogEvents', 'DescribeLogGroups'])));
  return cloudWatchLogsApi(client);
}

/** Tags a KMS key (the heartbeat's only call). */
export type TagKey = (key: { readonly arn: string; readonly region: string }, tag: { readonly key: string; readonly value: string }, signal: AbortSignal) => Promise<void>;

/** One KMS client per region of the canary keys (a key is tagged through its own region's endpoint), counted like every AWS call. */
export async function kmsTagger(config: Config, selfMetrics: SelfMetrics): Promise<TagKey> {
  const { KMSClient, TagResourceCommand } = await import('@aws-sdk/client-kms');
  const clients = new Map<string, InstanceType<typeof KMSClient>>();
  const clientFor = (region: string): InstanceType<typeof KMSClient> => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new KMSClient({ region, maxAttempts: config.awsMaxAttempts, retryMode: 'adaptive', requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 } });
      client.middlewareStack.use(countCalls(selfMetrics));
      clients.set(region, client);
    }
    return client;
  };
  return async (key, tag, signal) => {
    await clientFor(key.region).send(new TagResourceCommand({ KeyId: key.arn, Tags: [{ TagKey: tag.key, TagValue: tag.value }] }), { abortSignal: signal });
  };
}

/**
 * One SQS client per queue endpoint and region, signing for the region the queue URL names (or --region for a URL
 * that names none). The SDK aims each call at its QueueUrl's host anyway (useQueueUrlAsEndpoint); giving that
 * host as the endpoint says so without its warning. AWS_ENDPOINT_URL_SQS (a VPC endpoint, a proxy) wins over both.
 */
export async function sqsClients(config: Config, selfMetrics: SelfMetrics, env: NodeJS.ProcessEnv): Promise<(queue: QueueUrl) => SqsApi> {
  const { SQSClient } = await import('@aws-sdk/client-sqs');
  const { sqsApi } = await import('./sources/sqs-api.ts');
  const overridden = endpointOverridden(env, 'SQS');
  const apis = new Map<string, SqsApi>();
  const byQueue = new Map<string, SqsApi>();
  for (const queue of config.queueUrls) {
    const region = queue.region ?? config.region;
    const key = `${overridden ? '' : queue.origin} ${region ?? ''}`;
    let api = apis.get(key);
    if (api === undefined) {
      const client = new SQSClient({
        maxAttempts: config.awsMaxAttempts,
        retryMode: 'adaptive',
        // Above ReceiveMessage's 20 s long poll.
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
        ...(overridden ? { useQueueUrlAsEndpoint: false } : { endpoint: queue.origin }),
        ...(region === undefined ? {} : { region }),
      });
      const resolved = await client.config.region().catch(() => undefined);
      if (resolved === undefined || resolved === '') {
        throw new ConfigError('--region', 'AWS_REGION', `the queue URL ${queue.url} names no region: set AWS_REGION, give --region, or a region in the AWS profile (~/.aws/config)`);
      }
      client.middlewareStack.use(countCalls(selfMetrics));
      api = sqsApi(client);
      apis.set(key, api);
    }
    byQueue.set(queue.url, api);
  }
  return (queue) => {
    const api = byQueue.get(queue.url);
    if (api === undefined) throw new Error(`no SQS client was built for ${queue.url}`);
    return api;
  };
}

/**
 * The S3 client of `replay s3://...`: the default credential chain, adaptive retries (SlowDown and 5xx), counted calls.
 * A bucket in another region than the client's is followed (its 301 names it); a local endpoint
 * (AWS_ENDPOINT_URL_S3, a MinIO, a fake) is addressed path-style, as it has no bucket subdomains.
 */
export async function s3Archive(config: Config, selfMetrics: SelfMetrics, env: NodeJS.ProcessEnv): Promise<S3Api> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { s3Api } = await import('./sources/s3-api.ts');
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'] ?? '';
  const client = new S3Client({
    maxAttempts: config.awsMaxAttempts,
    retryMode: 'adaptive',
    followRegionRedirects: true,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    ...(endpoint === '' ? {} : { endpoint, forcePathStyle: true }),
    // S3 signs for a region too; with none configured, us-east-1 and the redirects find the bucket's.
    region: config.region ?? (await defaultRegion()),
  });
  client.middlewareStack.use(countCalls(selfMetrics));
  return s3Api(client);
}

/** The region of the default chain (AWS_REGION, the profile), or us-east-1. */
async function defaultRegion(): Promise<string> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const probe = new S3Client({});
  const region = await probe.config.region().catch(() => undefined);
  probe.destroy();
  return region === undefined || region === '' ? 'us-east-1' : region;
}
