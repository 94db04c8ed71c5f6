// CloudTrail between the fakes: the records of KMS calls land in a CloudWatch Logs group after a delay, unless the trail is stopped.
import type { FakeCloudWatchLogsApi } from '../fake-cloudwatch-logs/index.ts';

export class TrailDelivery {
  private logging = true;
  private readonly timers = new Set<NodeJS.Timeout>();
  private delivered = 0;
  private dropped = 0;

  private readonly logs: FakeCloudWatchLogsApi;
  private readonly group: string;
  /** CloudTrail's delay to CloudWatch Logs (typically minutes; shortened in tests). */
  private readonly delayMs: number;

  constructor(logs: FakeCloudWatchLogsApi, group: string, delayMs: number) {
    this.logs = logs;
    this.group = group;
    this.delayMs = delayMs;
  }

  /** The `trail` callback of the fake KMS. */
  readonly record = (record: Record<string, unknown>): void => {
    // A stopped trail writes nothing of what happens meanwhile: those records are never delivered, even after StartLogging.
    if (!this.logging) {
      this.dropped++;
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const eventTime = Date.parse(String(record['eventTime']));
      this.logs.putLogEvents(this.group, `${String(record['recipientAccountId'])}_CloudTrail_${String(record['awsRegion'])}`, [{ timestamp: eventTime, message: JSON.stringify(record) }]);
      this.delivered++;
    }, this.delayMs);
    this.timers.add(timer);
  };

  /** StopLogging: records from now on are lost; those already on their way still arrive. */
  stop(): void {
    this.logging = false;
  }

  /** StartLogging. */
  start(): void {
    this.logging = true;
  }

  counts(): { readonly delivered: number; readonly dropped: number } {
    return { delivered: this.delivered, dropped: this.dropped };
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
