// The counting and pacing middlewares on a real CloudWatchLogsClient whose requests are answered in-process: every attempt counted by operation and outcome, paced calls spaced.
import t from 'tap';
import type { Test } from 'tap';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { buildCore } from '../../src/service.ts';
import type { Core } from '../../src/service.ts';
import { countCalls, paceCalls } from '../../src/sources/aws-client-middleware.ts';
import { cloudWatchLogsApi } from '../../src/sources/cloudwatch-logs-api.ts';
import type { CloudWatchLogsApi } from '../../src/sources/cloudwatch-logs-api.ts';
import { awsErrorAnswer, CannedHttpHandler, immediateRetries, ok } from '../support/canned-http-handler.ts';
import { lines } from '../support/exposition.ts';

async function core(t: Test): Promise<Core> {
  const built = await buildCore(loadConfig({}), { env: {}, log: pino({ level: 'silent' }) });
  t.teardown(() => built.telemetry.shutdown());
  return built;
}

/** A client wired as aws-clients.ts wires it (counted, then paced), with the canned handler instead of the network. */
function client(handler: CannedHttpHandler, counted: Core, pace?: { readonly perSecond: number; readonly operations: readonly string[] }): CloudWatchLogsApi {
  const sdk = new CloudWatchLogsClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, requestHandler: handler, retryStrategy: immediateRetries(3) });
  sdk.middlewareStack.use(countCalls(counted.selfMetrics));
  if (pace !== undefined) sdk.middlewareStack.use(paceCalls(pace.perSecond, new Set(pace.operations)));
  return cloudWatchLogsApi(sdk);
}

const requests = async (counted: Core) => lines(await counted.telemetry.exposition(), 'kms_exporter_aws_requests_total');

t.test('every attempt is counted by operation and outcome, retries included; the caller gets the SDK error', async (t) => {
  const counted = await core(t);
  const handler = new CannedHttpHandler();
  const api = client(handler, counted);
  const signal = new AbortController().signal;

  handler.answer('FilterLogEvents', awsErrorAnswer(400, 'ThrottlingException', 'Rate exceeded'), awsErrorAnswer(400, 'ThrottlingException', 'Rate exceeded'), ok({ events: [{ eventId: '1', timestamp: 5, message: 'm' }] }));
  const page = await api.filterLogEvents({ logGroupName: 'g' }, signal);
  t.same(page.events, [{ eventId: '1', timestamp: 5, message: 'm' }], 'the third attempt answered');

  handler.answer('FilterLogEvents', awsErrorAnswer(503, 'ServiceUnavailableException', 'The server failed to process the request'), { status: 502, body: '<html>Bad Gateway</html>' }, awsErrorAnswer(500, 'InternalServerException', 'Internal error'));
  await t.rejects(api.filterLogEvents({ logGroupName: 'g' }, signal), { name: 'InternalServerException' }, 'three 5xx: the last one reaches the caller');

  handler.answer('FilterLogEvents', awsErrorAnswer(400, 'AccessDeniedException', 'User is not authorized to perform: logs:FilterLogEvents'));
  await t.rejects(api.filterLogEvents({ logGroupName: 'g' }, signal), { name: 'AccessDeniedException' }, 'not retried');

  handler.answer('FilterLogEvents', awsErrorAnswer(400, 'ResourceNotFoundException', 'The specified log group does not exist.'));
  await t.rejects(api.filterLogEvents({ logGroupName: 'missing' }, signal), { name: 'ResourceNotFoundException' });

  handler.answer('FilterLogEvents', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), Object.assign(new Error('Connection timed out after 5000 ms'), { name: 'TimeoutError' }), ok());
  await api.filterLogEvents({ logGroupName: 'g' }, signal);

  handler.answer('DescribeLogGroups', ok({ logGroups: [] }));
  await api.describeLogGroups({ logGroupNamePrefix: 'g' }, signal);

  t.equal(handler.requests.length, 12, 'twelve attempts reached the wire');
  t.same(await requests(counted), [
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="throttled"} 2',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="success"} 2',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="server_error"} 3',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="access_denied"} 1',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="not_found"} 1',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="network"} 1',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="timeout"} 1',
    'kms_exporter_aws_requests_total{operation="DescribeLogGroups",outcome="success"} 1',
  ]);
});

t.test('paced operations wait for a slot once per call (not per retry); other operations do not wait', async (t) => {
  const counted = await core(t);
  const handler = new CannedHttpHandler();
  const api = client(handler, counted, { perSecond: 1, operations: ['FilterLogEvents'] });
  const signal = new AbortController().signal;
  handler.answer('FilterLogEvents', awsErrorAnswer(400, 'ThrottlingException', 'Rate exceeded'), awsErrorAnswer(400, 'ThrottlingException', 'Rate exceeded'), ok(), ok());
  const started = Date.now();
  await Promise.all([api.filterLogEvents({ logGroupName: 'first' }, signal), api.filterLogEvents({ logGroupName: 'second' }, signal), api.describeLogGroups({}, signal)]);
  const at = (operation: string) => handler.requests.filter((request) => request.operation === operation).map((request) => request.at - started);
  const filter = at('FilterLogEvents');
  t.equal(filter.length, 4);
  t.ok(filter.slice(0, 3).every((ms) => ms < 500), `the first call and its two retries went at once (${filter.slice(0, 3).join(', ')} ms)`);
  t.ok(filter[3]! >= 900, `the second call waited for the next slot (${filter[3]} ms)`);
  t.ok(at('DescribeLogGroups').every((ms) => ms < 500), `DescribeLogGroups, not paced here, did not wait (${at('DescribeLogGroups').join(', ')} ms)`);
  // Sorted: which operation's series appears first depends on which call answered first.
  t.same((await requests(counted)).sort(), [
    'kms_exporter_aws_requests_total{operation="DescribeLogGroups",outcome="success"} 1',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="success"} 2',
    'kms_exporter_aws_requests_total{operation="FilterLogEvents",outcome="throttled"} 2',
  ]);
});
