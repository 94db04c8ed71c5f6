// The three SQS calls the sqs source makes, as a narrow interface over the SDK client.

import type {
  ChangeMessageVisibilityBatchCommandInput,
  ChangeMessageVisibilityBatchCommandOutput,
  DeleteMessageBatchCommandInput,
  DeleteMessageBatchCommandOutput,
  ReceiveMessageCommandInput,
  ReceiveMessageCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';

export interface SqsApi {
  receiveMessage(input: ReceiveMessageCommandInput, signal: AbortSignal): Promise<ReceiveMessageCommandOutput>;
  deleteMessageBatch(input: DeleteMessageBatchCommandInput, signal: AbortSignal): Promise<DeleteMessageBatchCommandOutput>;
  changeMessageVisibilityBatch(input: ChangeMessageVisibilityBatchCommandInput, signal: AbortSignal): Promise<ChangeMessageVisibilityBatchCommandOutput>;
}

export function sqsApi(client: SQSClient): SqsApi {
  return {
    receiveMessage: (input, signal) => client.send(new ReceiveMessageCommand(input), { abortSignal: signal }),
    deleteMessageBatch: (input, signal) => client.send(new DeleteMessageBatchCommand(input), { abortSignal: signal }),
    changeMessageVisibilityBatch: (input, signal) => client.send(new ChangeMessageVisibilityBatchCommand(input), { abortSignal: signal }),
  };
}
