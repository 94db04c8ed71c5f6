// SQS queue URLs: what they name (account, queue, region) and the queue ARN IAM matches, from https://sqs.REGION.amazonaws.com/ACCOUNT/NAME.
//
// Queue names are 1 to 80 letters, digits, '-' and '_', with '.fifo' for FIFO queues
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html); queue URLs are
// https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, or the legacy https://REGION.queue.amazonaws.com/ACCOUNT/NAME
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-message-identifiers.html).

import { partitionOf } from '../classify/key-identity.ts';

export interface QueueUrl {
  readonly url: string;
  /** scheme://host[:port], the endpoint the SDK sends the queue's calls to. */
  readonly origin: string;
  readonly account: string;
  readonly name: string;
  /** The region the host names; undefined for a host that is not an AWS one (a local endpoint, a proxy). */
  readonly region: string | undefined;
}

const QUEUE_PATH = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/;
const AWS_HOSTS = [/^sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/, /^sqs-fips\.([a-z0-9-]+)\.amazonaws\.com$/, /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/];

/** The queue a URL names, or why it names none (for a setting's message). */
export function parseQueueUrl(text: string): QueueUrl | string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return `expected a queue URL such as https://sqs.us-east-1.amazonaws.com/111122223333/kms-changes, got ${JSON.stringify(text)}`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `expected an https:// queue URL, got the scheme ${JSON.stringify(url.protocol)}`;
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return `expected a queue URL without query, fragment or credentials, got ${JSON.stringify(text)}`;
  const path = QUEUE_PATH.exec(url.pathname);
  if (path === null) return `expected the path /ACCOUNT/QUEUE-NAME (a 12-digit account, a name of 1 to 80 letters, digits, '-', '_'), got ${JSON.stringify(url.pathname)}`;
  const host = url.hostname;
  const region = host === 'queue.amazonaws.com' ? 'us-east-1' : AWS_HOSTS.map((pattern) => pattern.exec(host)?.[1]).find((match) => match !== undefined);
  return { url: `${url.origin}/${path[1]}/${path[2]}`, origin: url.origin, account: path[1]!, name: path[2]!, region };
}

/** arn:PARTITION:sqs:REGION:ACCOUNT:NAME */
export function queueArn(queue: QueueUrl, region: string): string {
  return `arn:${partitionOf(region)}:sqs:${region}:${queue.account}:${queue.name}`;
}
