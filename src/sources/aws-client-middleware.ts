// Two named SDK middlewares: one paces CloudWatch Logs calls under the shared quota, one counts every attempt by operation and outcome.

import type { DeserializeMiddleware, InitializeMiddleware, Pluggable } from '@smithy/types';
import pThrottle from 'p-throttle';
import { awsErrorKind } from './aws-errors.ts';

export interface AwsCallObserver {
  awsRequest(operation: string, outcome: string): void;
}

/**
 * Waits for a slot before each paced operation. This step runs once per operation; its
 * retries happen further down the stack, where the SDK's adaptive retry mode spaces them
 * out. FilterLogEvents shares about 5 calls per second per account and region with every
 * console search, so we stay well under that.
 */
export function paceCalls<Input extends object, Output extends object>(callsPerSecond: number, operations: ReadonlySet<string>): Pluggable<Input, Output> {
  const throttle = pThrottle({ limit: callsPerSecond, interval: 1000, strict: true });
  const wait = throttle(async () => {});
  const middleware: InitializeMiddleware<Input, Output> = (next, context) => async (args) => {
    if (operations.has((context.commandName ?? '').replace(/Command$/, ''))) await wait();
    return next(args);
  };
  return {
    applyToStack(stack) {
      stack.add(middleware, { step: 'initialize', name: 'kmsExporterPaceCalls', priority: 'high' });
    },
  };
}

/** Counts each HTTP attempt (a retry is another call against the quota) with its outcome. */
export function countCalls<Input extends object, Output extends object>(observer: AwsCallObserver): Pluggable<Input, Output> {
  const middleware: DeserializeMiddleware<Input, Output> = (next, context) => async (args) => {
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    try {
      const result = await next(args);
      observer.awsRequest(operation, 'success');
      return result;
    } catch (error) {
      observer.awsRequest(operation, awsErrorKind(error));
      throw error;
    }
  };
  return {
    applyToStack(stack) {
      // High: outside the deserializer, so a modeled error (ThrottlingException...) is seen by name.
      stack.add(middleware, { step: 'deserialize', name: 'kmsExporterCountCalls', priority: 'high' });
    },
  };
}
