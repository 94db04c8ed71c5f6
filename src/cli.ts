// The command line: serve, replay, filter-pattern, event-pattern and iam-policy, each setting a flag and an environment variable.

import { closeSync, openSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { buildEventPattern, formatEventPattern } from './catalog/event-pattern.ts';
import { buildFilterPattern } from './catalog/filter-pattern.ts';
import { buildIamPolicy, DEFAULT_DELIVERY_STREAM } from './catalog/iam-policy.ts';
import type { IamPolicyRequest } from './catalog/iam-policy.ts';
import { parseHeartbeatKey } from './classify/heartbeat-record.ts';
import type { Config } from './config.ts';
import { parseQueueUrl } from './catalog/queue-url.ts';
import type { QueueUrl } from './catalog/queue-url.ts';
import { AWS_REGION_SYNTAX, loadConfig, settingOptions, SOURCES, switchesFromEnv } from './config.ts';
import { ConfigError, HistoryRangeError, ListenError, ManifestError } from './errors.ts';
import { writeChunks } from './record/openmetrics-writer.ts';
import { SERVICE_NAME, VERSION } from './package-info.ts';
import { runReplay } from './replay/replay-command.ts';
import { ReplayProgress } from './replay/progress.ts';
import { operatorLog } from './telemetry.ts';

function openLogsFile(path: string | undefined, allowStdout: boolean): number | undefined {
  if (path === undefined) return undefined;
  if (path === '-') {
    if (!allowStdout) throw new ConfigError('--logs', 'KMS_EXPORTER_LOGS_FILE', 'replay writes metrics to stdout; give --logs a file');
    return 1;
  }
  try {
    return openSync(path, 'w');
  } catch (error) {
    throw new ConfigError('--logs', 'KMS_EXPORTER_LOGS_FILE', `cannot open ${path}: ${(error as Error).message}`);
  }
}

function closeLogsFile(fd: number | undefined): void {
  if (fd !== undefined && fd !== 1) closeSync(fd);
}

async function serve(config: Config, env: NodeJS.ProcessEnv): Promise<void> {
  const log = operatorLog(config.logLevel);
  const logsFd = openLogsFile(config.logsFile, true);
  // Loaded only to serve: the HTTP server and the sources' AWS clients are not a replay's (they are a third of its memory).
  const { buildService } = await import('./service.ts');
  const service = await buildService(config, { env, log, logsFd, stdin: process.stdin });
  const stop = async (signal: string): Promise<void> => {
    log.info({ signal }, 'stopping: draining sources, closing the server, flushing telemetry');
    await service.stop();
    closeLogsFile(logsFd);
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
  try {
    await service.start();
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    process.stderr.write(`${SERVICE_NAME}: ${error.message}\n`);
    await service.stop();
    closeLogsFile(logsFd);
    process.exit(error.exitCode);
  }
  try {
    await service.restored;
  } catch (error) {
    log.fatal({ err: error }, `cannot take the state store: ${(error as Error).message}`);
    await service.stop();
    process.exit(1);
  }
}

/** The exit status of a process stopped by `signal`, as a shell reports it. */
const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Replays the paths and prints the exposition; SIGTERM or SIGINT stops the reading (a stream that never ends) and prints what was read. */
async function replay(paths: readonly string[], config: Config, env: NodeJS.ProcessEnv): Promise<number> {
  const log = operatorLog(config.logLevel);
  const logsFd = openLogsFile(config.logsFile, false);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => stop.abort(signal);
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const progress = ReplayProgress.start(process.stderr);
  let result;
  try {
    result = await runReplay(paths, config, { env, log, logsFd, stdin: process.stdin, signal: stop.signal, progress });
  } finally {
    progress.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  // A history whose range is too long is refused before its first chunk; the input errors are still told.
  let refused: HistoryRangeError | undefined;
  try {
    await writeChunks(result.output, process.stdout);
  } catch (error) {
    if (!(error instanceof HistoryRangeError)) throw error;
    refused = error;
  } finally {
    closeLogsFile(logsFd);
  }
  for (const error of [...result.errors, ...(refused === undefined ? [] : [refused])]) process.stderr.write(`${SERVICE_NAME}: ${error.message}\n`);
  if (stop.signal.aborted) {
    const signal = String(stop.signal.reason);
    process.stderr.write(`${SERVICE_NAME}: stopped by ${signal}: the metrics are of what was read until then\n`);
    return SIGNAL_EXIT[signal] ?? 1;
  }
  return result.errors.length > 0 || refused !== undefined ? 1 : 0;
}

interface IamPolicyOptions {
  readonly source: string;
  readonly logGroup: string;
  readonly region?: string;
  readonly account?: string;
  readonly deliveryStream: string;
  readonly heartbeatKey: string;
  readonly queueUrl: string;
  readonly queueKmsKey: string;
}

/** The iam-policy options, checked: a policy for a wrong account or region would be silently useless, and a wildcard one is not least privilege. */
/** sqs: the queues from their URLs (each names its account; the region too when it is an AWS one), and the keys of SSE-KMS queues. */
function sqsPolicyRequest(options: IamPolicyOptions, split: (text: string) => string[], fail: (flag: string, reason: string) => Error): { queues: QueueUrl[]; queueKeys: string[] } {
  const queues = split(options.queueUrl).map((text) => {
    const queue = parseQueueUrl(text);
    if (typeof queue === 'string') throw fail('--queue-url', queue);
    return queue;
  });
  if (queues.length === 0) throw fail('--queue-url', 'name the SQS queues the sqs source receives from (a policy for every queue would be a wildcard)');
  const queueKeys = split(options.queueKmsKey);
  for (const key of queueKeys) if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(key)) throw fail('--queue-kms-key', `expected a KMS key ARN such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, got ${JSON.stringify(key)}`);
  return { queues, queueKeys };
}

function iamPolicyRequest(options: IamPolicyOptions): IamPolicyRequest {
  const split = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const fail = (flag: string, reason: string) => new ConfigError(flag, flag, reason);
  const sources = split(options.source);
  for (const source of sources) if (!(SOURCES as readonly string[]).includes(source)) throw fail('--source', `expected one of ${SOURCES.join(', ')}, got ${JSON.stringify(source)}`);
  if (sources.length > 0 && sources.every((source) => source === 'eventbridge')) throw fail('--source', 'eventbridge is pushed to by an API destination and calls no AWS API: it needs no IAM policy');
  const needed = sources.filter((source) => source !== 'replay' && source !== 'eventbridge');
  const heartbeatKeys = split(options.heartbeatKey);
  for (const arn of heartbeatKeys) if (parseHeartbeatKey(arn) === undefined) throw fail('--heartbeat-key', `expected KMS key ARNs such as arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, got ${JSON.stringify(arn)}`);
  if (needed.length === 0 && heartbeatKeys.length === 0) throw fail('--source', 'replay of local files calls no AWS API: it needs no IAM policy (replay s3:// needs s3:ListBucket and s3:GetObject on the trail bucket)');
  if (needed.includes('firehose') && (needed.length > 1 || heartbeatKeys.length > 0)) throw fail('--source', 'firehose\'s policy is for the role CloudWatch Logs assumes, not the exporter\'s: ask for it on its own (a push-only exporter\'s heartbeat policy: --source replay --heartbeat-key ...)');
  const sqs = needed.includes('sqs') ? sqsPolicyRequest(options, split, fail) : { queues: [], queueKeys: [] };
  // A queue URL names its account, and its region when it is an AWS one: sqs alone needs neither flag.
  const onlySqs = needed.length > 0 && needed.every((source) => source === 'sqs');
  const account = options.account ?? (onlySqs ? sqs.queues[0]?.account : undefined);
  const region = options.region !== undefined && options.region !== '' ? options.region : onlySqs && sqs.queues.every((queue) => queue.region !== undefined) ? sqs.queues[0]?.region : undefined;
  if (account === undefined) throw fail('--account', 'give the 12-digit AWS account id (a policy without one would be a wildcard)');
  if (!/^\d{12}$/.test(account)) throw fail('--account', `expected a 12-digit AWS account id, got ${JSON.stringify(account)}`);
  if (region === undefined || region === '') throw fail('--region', 'give the AWS region, or set AWS_REGION (a policy without one would be a wildcard)');
  if (!AWS_REGION_SYNTAX.test(region)) throw fail('--region', `expected an AWS region such as us-east-1 or eu-west-1, got ${JSON.stringify(region)}`);
  const logGroups = split(options.logGroup);
  if (needed.some((source) => source === 'poll' || source === 'live-tail') && logGroups.length === 0) throw fail('--log-group', 'name the CloudTrail log groups the poll and live-tail sources read (a policy for every group would be a wildcard)');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.deliveryStream)) throw fail('--delivery-stream', `expected a delivery stream name (1 to 64 letters, digits, '_', '.', '-'), got ${JSON.stringify(options.deliveryStream)}`);
  return { sources: needed, logGroups, region, account, deliveryStream: options.deliveryStream, heartbeatKeys, ...sqs };
}

export function buildProgram(env: NodeJS.ProcessEnv, setExitCode: (code: number) => void): Command {
  const program = new Command()
    .name(SERVICE_NAME)
    .description('Counts AWS KMS configuration changes in a CloudTrail log group as Prometheus metrics and OpenTelemetry log events.')
    .version(VERSION)
    // A usage error is one line and exit 2, like a bad setting; the subcommands inherit both.
    .exitOverride()
    .configureOutput({
      writeErr: (text) => process.stderr.write(text),
      outputError: (text, write) => write(`${SERVICE_NAME}: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()} (see ${SERVICE_NAME} --help)\n`),
    });

  const serveCommand = program.command('serve').description('run the service: the configured sources plus the HTTP server (/metrics, /-/healthy, /-/ready)');
  for (const option of settingOptions('serve')) serveCommand.addOption(option);
  serveCommand.action(async (options: Record<string, unknown>) => serve(loadConfig(switchesFromEnv(options, env)), env));

  const replayCommand = program
    .command('replay')
    .description('run files (JSON Lines, CloudTrail S3 log files, CloudWatch Logs subscription payloads; plain or gzip) through the pipeline and print the metrics')
    .argument('<paths...>', 'files to read, or - for stdin');
  for (const option of settingOptions('replay')) replayCommand.addOption(option);
  replayCommand.action(async (paths: string[], options: Record<string, unknown>) => setExitCode(await replay(paths, loadConfig(switchesFromEnv(options, env), { sources: ['replay'] }), env)));

  program
    .command('filter-pattern')
    .description('print the CloudWatch Logs filter pattern that selects exactly the catalog events')
    .action(() => {
      process.stdout.write(`${buildFilterPattern()}\n`);
    });

  program
    .command('event-pattern')
    .description('print the EventBridge rule pattern that selects exactly the catalog events on an event bus')
    .action(() => {
      process.stdout.write(`${formatEventPattern(buildEventPattern())}\n`);
    });

  program
    .command('iam-policy')
    .description('print the least-privilege IAM policy: for poll and live-tail the exporter\'s role; for firehose the role CloudWatch Logs assumes to write into the delivery stream')
    .option('--source <names>', 'comma-separated sources: poll, live-tail, firehose, sqs (replay and eventbridge call no AWS API)', 'poll')
    .option('--log-group <names>', 'comma-separated log group names or ARNs (poll, live-tail)', '')
    .option('--region <region>', 'region of the log groups and the delivery stream (default AWS_REGION)', env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'])
    .option('--account <id>', 'the 12-digit account of the log groups named without an ARN and of the delivery stream')
    .option('--delivery-stream <name>', 'firehose: the delivery stream the subscription filter writes to', DEFAULT_DELIVERY_STREAM)
    .option('--heartbeat-key <arns>', 'comma-separated canary key ARNs the heartbeat tags: adds kms:TagResource on them, for the heartbeat tag only', env['KMS_EXPORTER_HEARTBEAT_KEYS'] ?? '')
    .option('--queue-url <urls>', 'sqs: comma-separated queue URLs (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)', '')
    .option('--queue-kms-key <arns>', 'sqs: comma-separated ARNs of the customer managed KMS keys of SSE-KMS queues (none for SSE-SQS)', '')
    .action((options: IamPolicyOptions) => {
      process.stdout.write(`${JSON.stringify(buildIamPolicy(iamPolicyRequest(options)), null, 2)}\n`);
    });
  return program;
}

/** Runs the command line; a bad setting exits 2 with one line naming it. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const program = buildProgram(env, (code) => {
    process.exitCode = code;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; anything else commander refuses (unknown flag or command, missing argument) is a usage error.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof ConfigError || error instanceof ManifestError) {
      process.stderr.write(`${SERVICE_NAME}: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}
