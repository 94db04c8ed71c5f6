// The heartbeat's two gauges per canary key: the newest heartbeat sent, and the newest that came back through a source.

import type { HeartbeatKey } from '../classify/heartbeat-record.ts';
import type { Instruments } from './instruments.ts';

function labelsOf(key: HeartbeatKey): Record<string, string> {
  return { aws_account_id: key.accountId, aws_region: key.region, key_id: key.keyId };
}

export class HeartbeatMetrics {
  private readonly sent = new Map<string, { readonly key: HeartbeatKey; at: number }>();
  private readonly seen = new Map<string, { readonly key: HeartbeatKey; at: number }>();

  constructor(instruments: Instruments) {
    instruments.heartbeatSent.addCallback((result) => {
      for (const { key, at } of this.sent.values()) result.observe(at / 1000, labelsOf(key));
    });
    instruments.heartbeatSeen.addCallback((result) => {
      for (const { key, at } of this.seen.values()) result.observe(at / 1000, labelsOf(key));
    });
  }

  /**
   * KMS accepted a heartbeat sent at `at`. The first one also sets the seen time when none came back yet: the
   * lag (sent − seen) then counts from the first heartbeat, and a path that never delivers one shows it growing.
   */
  sentAt(key: HeartbeatKey, at: number): void {
    const current = this.sent.get(key.arn);
    if (current === undefined) this.sent.set(key.arn, { key, at });
    else current.at = Math.max(current.at, at);
    if (!this.seen.has(key.arn)) this.seen.set(key.arn, { key, at });
  }

  /** A heartbeat sent at `sentAt` came back. Never goes backwards (a late, older one changes nothing). */
  seenAt(key: HeartbeatKey, sentAt: number): void {
    const current = this.seen.get(key.arn);
    if (current === undefined) this.seen.set(key.arn, { key, at: sentAt });
    else current.at = Math.max(current.at, sentAt);
  }
}
