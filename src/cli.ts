// The command line: serve, replay, filter-pattern and iam-policy, each setting a flag and an environment variable.

import { closeSync, openSync } from 'node:fs';
import { Command } from 'commander';
import { buildFilterPattern } from './catalog/filter-pattern.ts';
import { buildIamPolicy } from './catalog/iam-policy.ts';
import type { Config } from './config.ts';
import { loadConfig, settingOptions } from './config.ts';
import { ConfigError } from './errors.ts';
import { SERVICE_NAME, VERSION } from './package-info.ts';
import { buildService, runReplay } from './service.ts';
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
  const service = await buildService(config, { env, log, logsFd, stdin: process.stdin });
  const stop = async (signal: string): Promise<void> => {
    log.info({ signal }, 'stopping: draining sources, closing the server, flushing telemetry');
    await service.stop();
    closeLogsFile(logsFd);
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
  await service.start();
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
  let result;
  try {
    result = await runReplay(paths, config, { env, log, logsFd, stdin: process.stdin, signal: stop.signal });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  process.stdout.write(result.exposition);
  closeLogsFile(logsFd);
  for (const error of result.errors) process.stderr.write(`${SERVICE_NAME}: ${error.message}\n`);
  if (stop.signal.aborted) {
    const signal = String(stop.signal.reason);
    process.stderr.write(`${SERVICE_NAME}: stopped by ${signal}: the metrics are of what was read until then\n`);
    return SIGNAL_EXIT[signal] ?? 1;
  }
  return result.errors.length > 0 ? 1 : 0;
}

export function buildProgram(env: NodeJS.ProcessEnv, setExitCode: (code: number) => void): Command {
  const program = new Command()
    .name(SERVICE_NAME)
    .description('Counts AWS KMS configuration changes in a CloudTrail log group as Prometheus metrics and OpenTelemetry log events.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  const serveCommand = program.command('serve').description('run the service: the configured sources plus the HTTP server (/metrics, /-/healthy, /-/ready)');
  for (const option of settingOptions('serve')) serveCommand.addOption(option);
  serveCommand.action(async (options: Record<string, unknown>) => serve(loadConfig(options), env));

  const replayCommand = program
    .command('replay')
    .description('run files (JSON Lines, CloudTrail S3 log files, CloudWatch Logs subscription payloads; plain or gzip) through the pipeline and print the metrics')
    .argument('<paths...>', 'files to read, or - for stdin');
  for (const option of settingOptions('replay')) replayCommand.addOption(option);
  replayCommand.action(async (paths: string[], options: Record<string, unknown>) => setExitCode(await replay(paths, loadConfig(options, { sources: ['replay'] }), env)));

  program
    .command('filter-pattern')
    .description('print the CloudWatch Logs filter pattern that selects exactly the catalog events')
    .action(() => {
      process.stdout.write(`${buildFilterPattern()}\n`);
    });

  program
    .command('iam-policy')
    .description('print the least-privilege IAM policy for the chosen sources and log groups')
    .option('--source <names>', 'comma-separated sources: poll, live-tail, firehose, replay', 'poll')
    .option('--log-group <names>', 'comma-separated log group names or ARNs', '')
    .option('--region <region>', 'region of log groups named without an ARN', env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? '*')
    .option('--account <id>', 'account of log groups named without an ARN', '*')
    .action((options: { source: string; logGroup: string; region: string; account: string }) => {
      const split = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');
      process.stdout.write(`${JSON.stringify(buildIamPolicy({ sources: split(options.source), logGroups: split(options.logGroup), region: options.region, account: options.account }), null, 2)}\n`);
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
    if (error instanceof ConfigError) {
      process.stderr.write(`${SERVICE_NAME}: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}
