// Every setting as a flag and an environment variable, validated once into a frozen, typed Config.

import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Option } from 'commander';
import { z } from 'zod';
import type { HeartbeatKey } from './classify/heartbeat-record.ts';
import { parseHeartbeatKey } from './classify/heartbeat-record.ts';
import { parseQueueUrl } from './catalog/queue-url.ts';
import type { QueueUrl } from './catalog/queue-url.ts';
import { ConfigError } from './errors.ts';
import { EVENTBRIDGE_MAX_BODY_BYTES } from './sources/eventbridge/eventbridge-source.ts';
import type { EventBridgeCredentials } from './sources/eventbridge/eventbridge-source.ts';
import { LIVE_TAIL_MAX_LOG_GROUPS } from './sources/live-tail.ts';

export const SOURCES = ['poll', 'live-tail', 'firehose', 'eventbridge', 'replay', 'sqs'] as const;
export type SourceName = (typeof SOURCES)[number];
export const REPLAY_OUTPUTS = ['prometheus', 'openmetrics'] as const;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Config {
  readonly listenAddress: ListenAddress;
  readonly sources: readonly SourceName[];
  readonly replayPaths: readonly string[];
  /** replay s3://: the first and last day (YYYY-MM-DD, UTC) of the log files read. */
  readonly replayFrom: string | undefined;
  readonly replayTo: string | undefined;
  /** replay: the plain exposition of the totals, or OpenMetrics history with timestamps (every --step). */
  readonly replayOutput: (typeof REPLAY_OUTPUTS)[number];
  /** ms, whole seconds: the step of the OpenMetrics history. */
  readonly replayStep: number;
  /** Decode threads of a replay: 1 decodes on the main thread. */
  readonly replayJobs: number;
  /** replay s3://: the accounts and regions whose log files are read; undefined: all. */
  readonly trailAccounts: readonly string[] | undefined;
  readonly trailRegions: readonly string[] | undefined;
  /** replay: the resumable manifest an interrupted backfill continues from. */
  readonly replayManifest: string | undefined;
  readonly logGroups: readonly string[];
  /** The push path's own Firehose streams and EventBridge rules (names or ARNs): a pipeline change naming one says so. */
  readonly firehoseStreams: readonly string[];
  readonly eventBridgeRules: readonly string[];
  /** The canary keys the heartbeat tags (--heartbeat-key); none: no heartbeat. */
  readonly heartbeatKeys: readonly HeartbeatKey[];
  readonly heartbeatInterval: number;
  /** The AWS region for the CloudWatch Logs client; undefined leaves it to the SDK's chain (the profile's region). */
  readonly region: string | undefined;
  /** The queues the sqs source receives from. */
  readonly queueUrls: readonly QueueUrl[];
  /** ms, whole seconds: how long a received SQS message stays invisible while its batch is committed. */
  readonly sqsVisibilityTimeout: number;
  readonly pollInterval: number;
  readonly latenessWindow: number;
  readonly lookback: number;
  readonly reconcileInterval: number;
  readonly checkpointFile: string | undefined;
  readonly stateUrl: URL | undefined;
  readonly replicaId: string;
  readonly awsCallsPerSecond: number;
  readonly awsMaxAttempts: number;
  readonly staleAfter: number;
  readonly firehoseAccessKeyFile: string | undefined;
  readonly firehoseMaxBodyBytes: number;
  readonly eventbridgeApiKeyHeader: string;
  readonly eventbridgeApiKeyFile: string | undefined;
  readonly eventbridgeBasicAuthFile: string | undefined;
  readonly eventbridgeAnswerTimeout: number;
  readonly webConfigFile: string | undefined;
  readonly pushMaxInflightBytes: number;
  readonly headerTimeout: number;
  readonly requestTimeout: number;
  readonly idleTimeout: number;
  readonly maxConnections: number;
  readonly logsFile: string | undefined;
  readonly labelKeyId: boolean;
  readonly labelPrincipal: boolean;
  readonly labelValueLimit: number;
  readonly seriesLimit: number;
  readonly dedupeCapacity: number;
  readonly keyStateLimit: number;
  readonly maxRecordBytes: number;
  readonly minDeletionWindowDays: number;
  readonly expectationsFile: string | undefined;
  readonly accountsFile: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Which commands take a setting: serve only, both, or replay only. */
type Scope = 'serve' | 'pipeline' | 'replay';

/** A calendar day as CloudTrail's S3 layout names it (YYYY/MM/DD), written YYYY-MM-DD. */
const day = z
  .string()
  .transform((text, ctx) => {
    const time = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== text) {
      ctx.addIssue({ code: 'custom', message: `expected a day as YYYY-MM-DD, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return text;
  })
  .optional();

/** A comma-separated list each of whose items `valid` accepts (`expected` says what it wanted); empty: undefined, all. */
const checkedList = (valid: (item: string) => boolean, expected: string) =>
  z.string().transform((text, ctx): string[] | undefined => {
    const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    const bad = items.find((item) => !valid(item));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}, got ${JSON.stringify(bad)}` });
      return z.NEVER;
    }
    return items.length === 0 ? undefined : [...new Set(items)];
  });

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "5m", "1h30m", "500ms" → milliseconds (Prometheus-style durations). */
const duration = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const parts = [...text.trim().matchAll(/(\d+)(ms|s|m|h|d)/g)];
    const whole = parts.map((p) => p[0]).join('');
    const ms = parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
    if (parts.length === 0 || whole !== text.trim() || ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `expected a duration from ${min}ms to ${max / 3_600_000}h such as 30s, 5m or 1h30m, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return ms;
  });

interface Setting<K extends keyof Config> {
  readonly key: K;
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  readonly scope: Scope;
  /** The text default, shown in --help and parsed like user input. */
  readonly default?: string;
  /** A plain switch (`--label-key-id`, never taking the next argument); its variable takes true or false. */
  readonly boolean?: boolean;
  readonly parse: z.ZodType<Config[K]>;
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** 65536 → "64KiB", for messages. */
function formatSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (bytes % size === 0) return `${bytes / size}${unit}`;
  return String(bytes);
}

/** "64MiB", "1MB", "65536" → bytes, within [min, max]. */
const byteSize = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
    const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
    if (match === null || unit === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a size such as 1MiB or 65536, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    const bytes = Math.floor(Number(match[1]) * unit);
    if (bytes < min || bytes > max) {
      ctx.addIssue({ code: 'custom', message: `expected a size from ${formatSize(min)} to ${formatSize(max)}, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return bytes;
  });

/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1. */
export const AWS_REGION_SYNTAX = /^[a-z]{2}(?:-(?:gov|iso[a-z]?))?-[a-z]+-\d{1,2}$/;

const regionName = z.string().transform((text, ctx): string | undefined => {
  const value = text.trim();
  if (value === '') return undefined;
  if (!AWS_REGION_SYNTAX.test(value)) {
    ctx.addIssue({ code: 'custom', message: `expected an AWS region such as us-east-1 or eu-west-1, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return value;
});

/** `auto`: one per core this process may run on (its CPU affinity, so `taskset -c 0` gives 1); else a whole number. */
const jobs = (max: number) =>
  z.string().transform((text, ctx) => {
    if (text.trim() === 'auto') return Math.min(max, availableParallelism());
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1 || value > max) {
      ctx.addIssue({ code: 'custom', message: `expected auto or a whole number from 1 to ${max}, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return value;
  });

const positiveInt = (max: number) =>
  z.string().transform((text, ctx) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1 || value > max) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number from 1 to ${max}, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return value;
  });

const intRange = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return value;
  });

const bool = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off', ''].includes(value)) return false;
  ctx.addIssue({ code: 'custom', message: `expected true or false, got ${JSON.stringify(text)}` });
  return z.NEVER;
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of a closed list, with the bad value and the allowed ones in the message. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.string().transform((text, ctx): T[number] => {
    const value = text.trim();
    if (!(values as readonly string[]).includes(value)) {
      ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return value as T[number];
  });

const list = z.string().transform((text) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== ''),
);

const listenAddress = z.string().transform((text, ctx): ListenAddress => {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (match === null || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected [host]:port such as :9842 or 127.0.0.1:9842, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
});

const stateUrl = z.string().transform((text, ctx): URL | undefined => {
  if (text.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected a URL such as redis://redis:6379/0 or rediss://user:password@host:6380, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    ctx.addIssue({ code: 'custom', message: `expected a redis:// or rediss:// URL (Redis or Valkey), got the scheme ${JSON.stringify(url.protocol)}` });
    return z.NEVER;
  }
  return url;
});

const replicaId = z.string().transform((text, ctx) => {
  const value = text.trim() === '' ? hostname() : text.trim();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(value)) {
    ctx.addIssue({ code: 'custom', message: `expected 1 to 128 letters, digits, '.', '_' or '-' (a pod name works), got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return value;
});

const heartbeatKeys = list.transform((arns, ctx): HeartbeatKey[] => {
  const keys: HeartbeatKey[] = [];
  for (const arn of new Set(arns)) {
    const key = parseHeartbeatKey(arn);
    if (key === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected KMS key ARNs such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab (a key, not an alias: the heartbeat tags it), got ${JSON.stringify(arn)}` });
      return z.NEVER;
    }
    keys.push(key);
  }
  return keys;
});

const queueUrls = list.transform((urls, ctx): QueueUrl[] => {
  const queues: QueueUrl[] = [];
  for (const text of urls) {
    const queue = parseQueueUrl(text);
    if (typeof queue === 'string') {
      ctx.addIssue({ code: 'custom', message: queue });
      return z.NEVER;
    }
    if (!queues.some((known) => known.url === queue.url)) queues.push(queue);
  }
  return queues;
});

/** OpenMetrics timestamps of whole seconds, and a day at most (a step is a sample per series). */
const historyStep = duration(1000, 86_400_000).refine((ms) => ms % 1000 === 0, { message: 'expected whole seconds, such as 1m, 30s or 1h' });

/** SQS takes visibility timeouts in whole seconds, up to 12 hours. */
const visibilityTimeout = duration(1000, 43_200_000).refine((ms) => ms % 1000 === 0, { message: 'expected whole seconds (SQS takes the visibility timeout in seconds), such as 60s or 5m' });

/** The answer deadline of POST /eventbridge, in milliseconds: under the 5 s after which EventBridge gives up on an answer. */
const answerTimeout = z.string().transform((text, ctx) => {
  const parsed = duration(0, 86_400_000).safeParse(text);
  if (!parsed.success || parsed.data < 50 || parsed.data > 4500) {
    ctx.addIssue({ code: 'custom', message: `expected a duration from 50ms to 4500ms such as 4s or 2500ms (EventBridge gives up on an answer after 5s), got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return parsed.data;
});

/** An HTTP header name (RFC 9110 token), compared in lower case. */
const headerName = z.string().transform((text, ctx) => {
  const value = text.trim().toLowerCase();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(value)) {
    ctx.addIssue({ code: 'custom', message: `expected an HTTP header name such as x-api-key, got ${JSON.stringify(text)}` });
    return z.NEVER;
  }
  return value;
});

const sources = list.pipe(
  z.array(z.enum(SOURCES, { error: (issue) => `expected one of ${SOURCES.join(', ')}, got ${JSON.stringify(issue.input)}` })).min(1, 'name at least one source'),
);

export const SETTINGS = [
  { key: 'listenAddress', flag: '--listen-address <host:port>', env: 'KMS_EXPORTER_LISTEN_ADDRESS', scope: 'serve', default: ':9842', description: 'where the HTTP server listens (/metrics, /-/healthy, /-/ready)', parse: listenAddress },
  { key: 'sources', flag: '--source <names>', env: 'KMS_EXPORTER_SOURCE', scope: 'serve', default: 'poll', description: `comma-separated sources: ${SOURCES.join(', ')}`, parse: sources },
  { key: 'logGroups', flag: '--log-group <names>', env: 'KMS_EXPORTER_LOG_GROUPS', scope: 'serve', default: '', description: 'comma-separated CloudTrail log group names or ARNs (poll, live-tail; ARNs for cross-account)', parse: list },
  { key: 'firehoseStreams', flag: '--firehose-stream <names>', env: 'KMS_EXPORTER_FIREHOSE_STREAMS', scope: 'serve', default: '', description: 'comma-separated Firehose delivery streams (names or ARNs) that deliver to this exporter: a pipeline change naming one is marked as on its own path', parse: list },
  { key: 'eventBridgeRules', flag: '--eventbridge-rule <names>', env: 'KMS_EXPORTER_EVENTBRIDGE_RULES', scope: 'serve', default: '', description: 'comma-separated EventBridge rules (names or ARNs) that forward CloudTrail to this exporter: a pipeline change naming one is marked as on its own path', parse: list },
  { key: 'heartbeatKeys', flag: '--heartbeat-key <arns>', env: 'KMS_EXPORTER_HEARTBEAT_KEYS', scope: 'pipeline', default: '', description: 'comma-separated ARNs of dedicated canary KMS keys (one per account and region watched): every --heartbeat-interval serve tags each (TagResource) and watches for the CloudTrail record to come back, proving the whole path (kms_exporter_heartbeat_*; needs kms:TagResource on them); replay only recognises their heartbeats, never counting them as changes', parse: heartbeatKeys },
  { key: 'heartbeatInterval', flag: '--heartbeat-interval <duration>', env: 'KMS_EXPORTER_HEARTBEAT_INTERVAL', scope: 'serve', default: '10m', description: 'time between heartbeats on the --heartbeat-key canary keys', parse: duration(1000, 86_400_000) },
  { key: 'region', flag: '--region <region>', env: 'AWS_REGION', scope: 'serve', description: 'region of the log groups (poll, live-tail), and of SQS queues whose URL names none (a local endpoint); without it the AWS SDK looks in the profile of ~/.aws/config', parse: regionName },
  { key: 'queueUrls', flag: '--queue-url <urls>', env: 'KMS_EXPORTER_QUEUE_URLS', scope: 'serve', default: '', description: 'comma-separated SQS queue URLs (sqs) an EventBridge rule sends the CloudTrail events to, such as https://sqs.us-east-1.amazonaws.com/111122223333/kms-changes', parse: queueUrls },
  { key: 'sqsVisibilityTimeout', flag: '--sqs-visibility-timeout <duration>', env: 'KMS_EXPORTER_SQS_VISIBILITY_TIMEOUT', scope: 'serve', default: '60s', description: 'sqs: how long a received message stays hidden from other receivers; extended at half of it while its batch is committed, and it comes back after it if the exporter dies first', parse: visibilityTimeout },
  { key: 'pollInterval', flag: '--poll-interval <duration>', env: 'KMS_EXPORTER_POLL_INTERVAL', scope: 'serve', default: '30s', description: 'time between FilterLogEvents cycles of the poll source', parse: duration(1000, 86_400_000) },
  { key: 'latenessWindow', flag: '--lateness-window <duration>', env: 'KMS_EXPORTER_LATENESS_WINDOW', scope: 'serve', default: '20m', description: 'how far back each poll re-reads for CloudTrail records that arrive late', parse: duration(0, 86_400_000) },
  { key: 'lookback', flag: '--lookback <duration>', env: 'KMS_EXPORTER_LOOKBACK', scope: 'serve', default: '1h', description: 'how far back the first poll reads when there is no checkpoint', parse: duration(0, 30 * 86_400_000) },
  { key: 'reconcileInterval', flag: '--reconcile-interval <duration>', env: 'KMS_EXPORTER_RECONCILE_INTERVAL', scope: 'serve', default: '5m', description: 'with live-tail: time between the reconciling polls that catch what live tail missed', parse: duration(1000, 86_400_000) },
  { key: 'checkpointFile', flag: '--checkpoint-file <path>', env: 'KMS_EXPORTER_CHECKPOINT_FILE', scope: 'serve', description: 'where this process keeps its counters, key state, remembered ids and poll progress (written before each batch is acknowledged), so a restart neither loses nor double-counts', parse: z.string().min(1).optional() },
  { key: 'stateUrl', flag: '--state-url <url>', env: 'KMS_EXPORTER_STATE_URL', scope: 'serve', default: '', description: 'Redis or Valkey shared by replicas (redis://host:6379/0, rediss:// for TLS): de-duplication, push request ids and key state, so N replicas count and alert as one; instead of --checkpoint-file', parse: stateUrl },
  { key: 'replicaId', flag: '--replica-id <id>', env: 'KMS_EXPORTER_REPLICA_ID', scope: 'serve', default: '', description: 'this replica\'s stable name in the shared store (its counters are kept under it across restarts); default the host name, which is the pod name in Kubernetes', parse: replicaId },
  { key: 'awsCallsPerSecond', flag: '--aws-calls-per-second <n>', env: 'KMS_EXPORTER_AWS_CALLS_PER_SECOND', scope: 'serve', default: '2', description: 'most FilterLogEvents calls per second (AWS shares about 5/s per account and region with console searches)', parse: positiveInt(50) },
  { key: 'awsMaxAttempts', flag: '--aws-max-attempts <n>', env: 'KMS_EXPORTER_AWS_MAX_ATTEMPTS', scope: 'serve', default: '8', description: 'attempts per AWS call, retried with adaptive backoff on throttling and 5xx', parse: positiveInt(20) },
  { key: 'staleAfter', flag: '--stale-after <duration>', env: 'KMS_EXPORTER_STALE_AFTER', scope: 'serve', default: '5m', description: 'a source that has not succeeded for this long makes /-/ready answer 503', parse: duration(1000, 86_400_000) },
  { key: 'firehoseAccessKeyFile', flag: '--firehose-access-key-file <path>', env: 'KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE', scope: 'serve', description: 'file holding the Firehose access key (or set KMS_EXPORTER_FIREHOSE_ACCESS_KEY; never a flag, to keep it out of ps)', parse: z.string().min(1).optional() },
  { key: 'firehoseMaxBodyBytes', flag: '--firehose-max-body <size>', env: 'KMS_EXPORTER_FIREHOSE_MAX_BODY', scope: 'serve', default: '64MiB', description: 'largest /firehose request body, after gzip decoding; larger requests get 413', parse: byteSize(64 * 1024, 1024 ** 3) },
  { key: 'eventbridgeApiKeyHeader', flag: '--eventbridge-api-key-header <name>', env: 'KMS_EXPORTER_EVENTBRIDGE_API_KEY_HEADER', scope: 'serve', default: 'x-api-key', description: 'the header an EventBridge connection of type API_KEY sends its key in (its ApiKeyName)', parse: headerName },
  { key: 'eventbridgeApiKeyFile', flag: '--eventbridge-api-key-file <path>', env: 'KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE', scope: 'serve', description: 'file holding the EventBridge connection\'s API key (or set KMS_EXPORTER_EVENTBRIDGE_API_KEY; never a flag, to keep it out of ps)', parse: z.string().min(1).optional() },
  { key: 'eventbridgeBasicAuthFile', flag: '--eventbridge-basic-auth-file <path>', env: 'KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE', scope: 'serve', description: 'file holding user:password of an EventBridge connection of type BASIC (or set KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH); with an API key too, either is accepted', parse: z.string().min(1).optional() },
  { key: 'eventbridgeAnswerTimeout', flag: '--eventbridge-answer-timeout <duration>', env: 'KMS_EXPORTER_EVENTBRIDGE_ANSWER_TIMEOUT', scope: 'serve', default: '4s', description: 'a POST /eventbridge whose commit has not finished this long after it arrived is answered 503, which EventBridge retries (it gives up on an answer after 5s)', parse: answerTimeout },
  { key: 'webConfigFile', flag: '--web-config-file <path>', env: 'KMS_EXPORTER_WEB_CONFIG_FILE', scope: 'serve', description: 'exporter-toolkit web configuration (YAML): TLS with certificates reloaded when they change, client certificates, response headers, basic auth users with bcrypt hashes (not asked of /firehose, which has its access key)', parse: z.string().min(1).optional() },
  { key: 'pushMaxInflightBytes', flag: '--push-max-inflight <size>', env: 'KMS_EXPORTER_PUSH_MAX_INFLIGHT', scope: 'serve', default: '128MiB', description: 'request body bytes all push requests together may hold at once; beyond it they get 503 (Firehose retries) before their body is read', parse: byteSize(64 * 1024, 64 * 1024 ** 3) },
  { key: 'headerTimeout', flag: '--header-timeout <duration>', env: 'KMS_EXPORTER_HEADER_TIMEOUT', scope: 'serve', default: '10s', description: 'a connection that has not sent its request headers within this long is closed', parse: duration(100, 3_600_000) },
  { key: 'requestTimeout', flag: '--request-timeout <duration>', env: 'KMS_EXPORTER_REQUEST_TIMEOUT', scope: 'serve', default: '2m', description: 'a request whose body has not arrived in full within this long is closed (Firehose gives an endpoint 3 minutes)', parse: duration(100, 3_600_000) },
  { key: 'idleTimeout', flag: '--idle-timeout <duration>', env: 'KMS_EXPORTER_IDLE_TIMEOUT', scope: 'serve', default: '65s', description: 'an idle keep-alive connection is closed after this long (above the 60s idle timeout of the usual load balancers)', parse: duration(100, 3_600_000) },
  { key: 'maxConnections', flag: '--max-connections <n>', env: 'KMS_EXPORTER_MAX_CONNECTIONS', scope: 'serve', default: '512', description: 'open connections at most (keep it under the file descriptor limit); beyond it the oldest connection without a request in progress is closed, so a scrape still gets in', parse: positiveInt(1_000_000) },
  { key: 'replayPaths', flag: '--replay <paths>', env: 'KMS_EXPORTER_REPLAY', scope: 'serve', default: '', description: 'comma-separated files the replay source reads at start (- for stdin)', parse: list },
  { key: 'replayFrom', flag: '--from <day>', env: 'KMS_EXPORTER_REPLAY_FROM', scope: 'replay', description: 'replay s3://: read only log files of this day (YYYY-MM-DD, UTC) and later; with --to and a prefix down to the region, only those days are listed', parse: day },
  { key: 'replayTo', flag: '--to <day>', env: 'KMS_EXPORTER_REPLAY_TO', scope: 'replay', description: 'replay s3://: read only log files of this day (YYYY-MM-DD, UTC) and earlier', parse: day },
  { key: 'replayOutput', flag: '--output <format>', env: 'KMS_EXPORTER_REPLAY_OUTPUT', scope: 'replay', default: 'prometheus', description: 'prometheus: the text exposition of the totals; openmetrics: the change counters at every --step of the changes\' time range, with timestamps, for promtool tsdb create-blocks-from openmetrics', parse: oneOf(REPLAY_OUTPUTS) },
  { key: 'replayStep', flag: '--step <duration>', env: 'KMS_EXPORTER_REPLAY_STEP', scope: 'replay', default: '1m', description: '--output openmetrics: the time between two samples of a series (whole seconds, at most 1d)', parse: historyStep },
  { key: 'replayJobs', flag: '--jobs <n>', env: 'KMS_EXPORTER_REPLAY_JOBS', scope: 'replay', default: 'auto', description: 'threads that decode the replayed files (auto: one per core); counts, de-duplication and log events are the same for any number (1 decodes on the main thread)', parse: jobs(256) },
  { key: 'trailAccounts', flag: '--trail-accounts <ids>', env: 'KMS_EXPORTER_REPLAY_ACCOUNTS', scope: 'replay', description: 'replay s3://: read only the log files of these comma-separated 12-digit accounts; their folders are built, never listed', parse: checkedList((id) => /^\d{12}$/.test(id), 'comma-separated 12-digit AWS account ids') },
  { key: 'trailRegions', flag: '--trail-regions <regions>', env: 'KMS_EXPORTER_REPLAY_REGIONS', scope: 'replay', description: 'replay s3://: read only the log files of these comma-separated regions; their folders are built, never listed', parse: checkedList((region) => AWS_REGION_SYNTAX.test(region), 'comma-separated AWS regions such as us-east-1,eu-west-1') },
  { key: 'replayManifest', flag: '--manifest <file>', env: 'KMS_EXPORTER_REPLAY_MANIFEST', scope: 'replay', description: 'replay: record what is counted and which inputs are done in this file, so an interrupted replay run again with the same arguments continues where it stopped', parse: z.string().min(1).optional() },
  { key: 'logsFile', flag: '--logs <file>', env: 'KMS_EXPORTER_LOGS_FILE', scope: 'pipeline', description: 'also write each change log event as a JSON line to this file (- for stdout when serving)', parse: z.string().min(1).optional() },
  { key: 'labelKeyId', flag: '--label-key-id', env: 'KMS_EXPORTER_LABEL_KEY_ID', scope: 'pipeline', default: 'false', boolean: true, description: 'add a key_id label to the change counters (bounded by --label-value-limit)', parse: bool },
  { key: 'labelPrincipal', flag: '--label-principal', env: 'KMS_EXPORTER_LABEL_PRINCIPAL', scope: 'pipeline', default: 'false', boolean: true, description: 'add a principal label (IAM user, role or service) to the change counters', parse: bool },
  { key: 'labelValueLimit', flag: '--label-value-limit <n>', env: 'KMS_EXPORTER_LABEL_VALUE_LIMIT', scope: 'pipeline', default: '500', description: 'distinct key_id / principal values before new ones are counted as __overflow__', parse: positiveInt(100_000) },
  { key: 'seriesLimit', flag: '--series-limit <n>', env: 'KMS_EXPORTER_SERIES_LIMIT', scope: 'pipeline', default: '5000', description: 'most series per metric between two scrapes; beyond it they fold into otel_metric_overflow="true"', parse: positiveInt(1_000_000) },
  { key: 'dedupeCapacity', flag: '--dedupe-capacity <n>', env: 'KMS_EXPORTER_DEDUPE_CAPACITY', scope: 'pipeline', default: '100000', description: 'CloudTrail eventIDs (and push request ids) remembered to drop duplicate deliveries; the oldest are forgotten first', parse: positiveInt(10_000_000) },
  { key: 'keyStateLimit', flag: '--key-state-limit <n>', env: 'KMS_EXPORTER_KEY_STATE_LIMIT', scope: 'pipeline', default: '5000', description: 'entries kept in each key-state table (pending deletions, last lifecycle event, aliases, key material expiries); when full the deletion or expiry furthest away, or the alias changed longest ago, is dropped, and counted', parse: positiveInt(1_000_000) },
  { key: 'maxRecordBytes', flag: '--max-record-bytes <size>', env: 'KMS_EXPORTER_MAX_RECORD_BYTES', scope: 'pipeline', default: '1MiB', description: 'a record larger than this is invalid (CloudWatch Logs caps events at 256 KB)', parse: byteSize(1024, 64 * 1024 ** 2) },
  { key: 'minDeletionWindowDays', flag: '--min-deletion-window-days <days>', env: 'KMS_EXPORTER_MIN_DELETION_WINDOW_DAYS', scope: 'pipeline', default: '30', description: 'a ScheduleKeyDeletion with a shorter waiting period raises the finding short_deletion_window (AWS allows 7 to 30 days, 30 by default)', parse: intRange(7, 30) },
  { key: 'expectationsFile', flag: '--expectations <file>', env: 'KMS_EXPORTER_EXPECTATIONS_FILE', scope: 'pipeline', description: 'YAML rules naming the changes a team expects (its automation, AWS services\' own grants): counted with expected="true" and ticketed, never paged; findings still page (see examples/expectations.yml)', parse: z.string().min(1).optional() },
  { key: 'accountsFile', flag: '--accounts <file>', env: 'KMS_EXPORTER_ACCOUNTS_FILE', scope: 'pipeline', description: 'YAML naming the organisation\'s accounts (name, environment, owner; or aws organizations list-accounts output): kms_aws_account_info, names in log events, and the accounts the external findings count as ours (see examples/accounts.yml)', parse: z.string().min(1).optional() },
  { key: 'logLevel', flag: '--log-level <level>', env: 'KMS_EXPORTER_LOG_LEVEL', scope: 'pipeline', default: 'info', description: `operator log level: ${LOG_LEVELS.join(', ')}`, parse: oneOf(LOG_LEVELS) },
] as const satisfies readonly Setting<keyof Config>[];

/** The commander options of the settings a command takes; values stay strings until {@link loadConfig}. */
export function settingOptions(command: 'serve' | 'replay'): Option[] {
  return SETTINGS.filter((setting) => setting.scope === 'pipeline' || setting.scope === command).map((setting) => {
    // Commander would set a switch to true whenever its variable is set, even to "false": read by switchesFromEnv instead.
    if ('boolean' in setting) return new Option(setting.flag, `${setting.description} (env: ${setting.env}=true|false)`);
    const option = new Option(setting.flag, setting.description).env(setting.env);
    if ('default' in setting && setting.default !== '') option.default(setting.default);
    return option;
  });
}

/** The switches not given on the command line, from their variables (true/false, 1/0, yes/no, on/off). */
export function switchesFromEnv(raw: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, unknown> = { ...raw };
  for (const setting of SETTINGS) {
    if (!('boolean' in setting)) continue;
    const name = camel(setting.flag);
    const fromEnv = env[setting.env];
    if (values[name] === undefined && fromEnv !== undefined) values[name] = fromEnv;
  }
  return values;
}

function camel(flag: string): string {
  const name = /^--([a-z-]+)/.exec(flag)?.[1] ?? '';
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Validates commander's raw option values. The first bad setting stops the start with
 * a message naming its flag and environment variable.
 */
export function loadConfig(raw: Readonly<Record<string, unknown>>, overrides: Partial<Config> = {}): Config {
  const values: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const key: keyof Config = setting.key;
    if (key in overrides) continue;
    let input = raw[camel(setting.flag)];
    if (input === undefined && 'default' in setting) input = setting.default;
    if (input === true) input = 'true';
    if (input === undefined) continue;
    const result = (setting.parse as z.ZodType).safeParse(input);
    if (!result.success) {
      const message = result.error.issues.map((issue) => issue.message).join('; ');
      throw new ConfigError(setting.flag.split(' ')[0] ?? setting.flag, setting.env, message);
    }
    values[key] = result.data;
  }
  return Object.freeze({ ...values, ...overrides }) as Config;
}

/** The replay settings that are valid one by one but not together. */
export function checkReplayConfig(config: Config): void {
  if (config.replayFrom !== undefined && config.replayTo !== undefined && config.replayFrom > config.replayTo) {
    throw new ConfigError('--from', 'KMS_EXPORTER_REPLAY_FROM', `${config.replayFrom} is after --to ${config.replayTo}`);
  }
}

/** The serve settings that are valid one by one but not together, checked before anything starts. */
export function checkServeConfig(config: Config): void {
  const needsGroups = config.sources.includes('poll') || config.sources.includes('live-tail');
  if (needsGroups && config.logGroups.length === 0) throw new ConfigError('--log-group', 'KMS_EXPORTER_LOG_GROUPS', 'the poll and live-tail sources need at least one log group');
  if (config.sources.includes('live-tail') && config.logGroups.length > LIVE_TAIL_MAX_LOG_GROUPS) {
    throw new ConfigError('--log-group', 'KMS_EXPORTER_LOG_GROUPS', `live tail takes at most ${LIVE_TAIL_MAX_LOG_GROUPS} log groups, got ${config.logGroups.length}`);
  }
  if (config.sources.includes('sqs') && config.queueUrls.length === 0) throw new ConfigError('--queue-url', 'KMS_EXPORTER_QUEUE_URLS', 'the sqs source needs at least one queue URL');
  if (config.sources.includes('replay') && config.replayPaths.length === 0) throw new ConfigError('--replay', 'KMS_EXPORTER_REPLAY', 'the replay source needs at least one path');
  if (config.checkpointFile !== undefined && config.stateUrl !== undefined) {
    throw new ConfigError('--checkpoint-file', 'KMS_EXPORTER_CHECKPOINT_FILE', 'give either a checkpoint file (one process) or --state-url (replicas sharing Redis/Valkey), not both');
  }
  if (config.checkpointFile !== undefined) checkCheckpointDirectory(config.checkpointFile);
  if (config.sources.includes('eventbridge') && config.pushMaxInflightBytes < EVENTBRIDGE_MAX_BODY_BYTES) {
    throw new ConfigError('--push-max-inflight', 'KMS_EXPORTER_PUSH_MAX_INFLIGHT', `${config.pushMaxInflightBytes} bytes is less than the largest EventBridge event (${EVENTBRIDGE_MAX_BODY_BYTES} bytes): it could never be taken`);
  }
  if (config.sources.includes('firehose') && config.pushMaxInflightBytes < config.firehoseMaxBodyBytes) {
    throw new ConfigError('--push-max-inflight', 'KMS_EXPORTER_PUSH_MAX_INFLIGHT', `${config.pushMaxInflightBytes} bytes is less than --firehose-max-body (${config.firehoseMaxBodyBytes}): the largest request could never be taken`);
  }
}

/** A checkpoint in a directory that is missing or read-only would fail at the first commit: say so at start. */
function checkCheckpointDirectory(path: string): void {
  const dir = dirname(resolve(path));
  const fail = (reason: string) => new ConfigError('--checkpoint-file', 'KMS_EXPORTER_CHECKPOINT_FILE', `${reason}: ${dir}`);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    throw fail('the checkpoint directory does not exist');
  }
  if (!isDirectory) throw fail('the checkpoint path\'s parent is not a directory');
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw fail('the checkpoint directory is not writable');
  }
}

/** A secret from its environment variable or the file a setting names; never from a flag, to keep it out of `ps`. */
export function readSecret(options: { readonly env: NodeJS.ProcessEnv; readonly variable: string; readonly file: string | undefined; readonly flag: string; readonly fileVariable: string; readonly what: string; readonly maxBytes: number }): string {
  let value = options.env[options.variable];
  if ((value === undefined || value === '') && options.file !== undefined) {
    try {
      value = readFileSync(options.file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(options.flag, options.fileVariable, `cannot read ${options.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (value === undefined || value === '') throw new ConfigError(options.flag, options.fileVariable, `${options.what}: set ${options.variable} or name a file`);
  if (Buffer.byteLength(value) > options.maxBytes) throw new ConfigError(options.flag, options.fileVariable, `the secret is longer than ${options.maxBytes} bytes`);
  return value;
}

/** The Firehose access key, from KMS_EXPORTER_FIREHOSE_ACCESS_KEY or the file named by --firehose-access-key-file. */
export function firehoseAccessKey(config: Config, env: NodeJS.ProcessEnv): string {
  return readSecret({ env, variable: 'KMS_EXPORTER_FIREHOSE_ACCESS_KEY', file: config.firehoseAccessKeyFile, flag: '--firehose-access-key-file', fileVariable: 'KMS_EXPORTER_FIREHOSE_ACCESS_KEY_FILE', what: 'the firehose source needs an access key', maxBytes: 4096 });
}

/**
 * The EventBridge connection's credentials: an API key (KMS_EXPORTER_EVENTBRIDGE_API_KEY or --eventbridge-api-key-file),
 * basic auth (KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH or --eventbridge-basic-auth-file, `user:password`), or both; at least one.
 */
export function eventbridgeCredentials(config: Config, env: NodeJS.ProcessEnv): EventBridgeCredentials {
  const given = (variable: string, file: string | undefined) => (env[variable] !== undefined && env[variable] !== '') || file !== undefined;
  const keyGiven = given('KMS_EXPORTER_EVENTBRIDGE_API_KEY', config.eventbridgeApiKeyFile);
  const basicGiven = given('KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH', config.eventbridgeBasicAuthFile);
  if (!keyGiven && !basicGiven) {
    throw new ConfigError('--eventbridge-api-key-file', 'KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE', 'the eventbridge source needs the connection\'s credentials: set KMS_EXPORTER_EVENTBRIDGE_API_KEY or KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH, or name a file with --eventbridge-api-key-file or --eventbridge-basic-auth-file');
  }
  const credentials: { apiKey?: NonNullable<EventBridgeCredentials['apiKey']>; basic?: NonNullable<EventBridgeCredentials['basic']> } = {};
  if (keyGiven) {
    const value = readSecret({ env, variable: 'KMS_EXPORTER_EVENTBRIDGE_API_KEY', file: config.eventbridgeApiKeyFile, flag: '--eventbridge-api-key-file', fileVariable: 'KMS_EXPORTER_EVENTBRIDGE_API_KEY_FILE', what: 'the eventbridge API key', maxBytes: 4096 });
    credentials.apiKey = { header: config.eventbridgeApiKeyHeader, value };
  }
  if (basicGiven) {
    const pair = readSecret({ env, variable: 'KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH', file: config.eventbridgeBasicAuthFile, flag: '--eventbridge-basic-auth-file', fileVariable: 'KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE', what: 'the eventbridge basic auth credentials', maxBytes: 4096 });
    const colon = pair.indexOf(':');
    if (colon <= 0 || colon === pair.length - 1) throw new ConfigError('--eventbridge-basic-auth-file', 'KMS_EXPORTER_EVENTBRIDGE_BASIC_AUTH_FILE', 'expected user:password (the user may not contain a colon; the password may)');
    credentials.basic = { user: pair.slice(0, colon), password: pair.slice(colon + 1) };
  }
  return credentials;
}
