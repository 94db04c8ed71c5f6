// Sends the heartbeat: every --heartbeat-interval, a TagResource on each canary key whose tag value is the send time.
//
// The change comes back as a CloudTrail record through whichever source runs; the pipeline recognises it
// (classify/heartbeat-record.ts) and sets the seen time. Sent minus seen is how far the path lags.

import type { TagKey } from './aws-clients.ts';
import type { HeartbeatKey } from './classify/heartbeat-record.ts';
import { HEARTBEAT_TAG_KEY } from './classify/heartbeat-record.ts';
import type { HeartbeatMetrics } from './record/heartbeat-metrics.ts';
import { awsErrorKind } from './sources/aws-errors.ts';

export interface HeartbeatSenderOptions {
  readonly keys: readonly HeartbeatKey[];
  readonly intervalMs: number;
  readonly tag: TagKey;
  readonly metrics: HeartbeatMetrics;
  readonly now: () => number;
  /** A send that failed (after the SDK's retries): the operator's log line. The call itself is counted in kms_exporter_aws_requests_total. */
  readonly failed: (key: HeartbeatKey, kind: string, error: unknown) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class HeartbeatSender {
  private readonly options: HeartbeatSenderOptions;

  constructor(options: HeartbeatSenderOptions) {
    this.options = options;
  }

  /** One heartbeat on every key, in parallel; a key that fails does not hold the others. */
  async beat(signal: AbortSignal): Promise<void> {
    const { keys, tag, metrics, now, failed } = this.options;
    await Promise.all(
      keys.map(async (key) => {
        const at = now();
        try {
          await tag(key, { key: HEARTBEAT_TAG_KEY, value: new Date(at).toISOString() }, signal);
          metrics.sentAt(key, at);
        } catch (error) {
          if (!signal.aborted) failed(key, awsErrorKind(error), error);
        }
      }),
    );
  }

  /** Beats at once, then every interval (measured from each beat's start), until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { intervalMs, now } = this.options;
    while (!signal.aborted) {
      const started = now();
      await this.beat(signal);
      await sleep(Math.max(0, started + intervalMs - now()), signal);
    }
  }
}
