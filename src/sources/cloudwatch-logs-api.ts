// The three CloudWatch Logs calls the pull sources make, as a narrow interface: the SDK client behind it in service, a fake in unit tests.

import type {
  CloudWatchLogsClient,
  DescribeLogGroupsCommandInput,
  DescribeLogGroupsCommandOutput,
  FilterLogEventsCommandInput,
  FilterLogEventsCommandOutput,
  StartLiveTailCommandInput,
  StartLiveTailCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeLogGroupsCommand, FilterLogEventsCommand, StartLiveTailCommand } from '@aws-sdk/client-cloudwatch-logs';

export interface CloudWatchLogsApi {
  filterLogEvents(input: FilterLogEventsCommandInput, signal: AbortSignal): Promise<FilterLogEventsCommandOutput>;
  describeLogGroups(input: DescribeLogGroupsCommandInput, signal: AbortSignal): Promise<DescribeLogGroupsCommandOutput>;
  startLiveTail(input: StartLiveTailCommandInput, signal: AbortSignal): Promise<StartLiveTailCommandOutput>;
}

export function cloudWatchLogsApi(client: CloudWatchLogsClient): CloudWatchLogsApi {
  return {
    filterLogEvents: (input, signal) => client.send(new FilterLogEventsCommand(input), { abortSignal: signal }),
    describeLogGroups: (input, signal) => client.send(new DescribeLogGroupsCommand(input), { abortSignal: signal }),
    startLiveTail: (input, signal) => client.send(new StartLiveTailCommand(input), { abortSignal: signal }),
  };
}
