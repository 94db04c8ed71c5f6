// The ground truth of a generated trail, tallied from the records in the order they are written.

import type { Entry } from './records.ts';
import { iso } from './time.ts';

export interface SeriesCount {
  event_name: string;
  aws_account_id: string;
  aws_region: string;
  principal_type: string;
  count: number;
}

export interface TrailTruth {
  /** Lines (records) written, re-delivered copies included. */
  records: number;
  uniqueEventIds: number;
  duplicateRecords: number;
  /** Unique records that are catalog changes (succeeded or failed), and the rest. */
  matched: number;
  ignored: number;
  /** Counts of changes and failures are over unique eventIDs (re-delivered copies excluded). */
  successfulChanges: { total: number; byEventName: Record<string, number> };
  failedChanges: { total: number; byEventNameAndErrorCode: { eventName: string; errorCode: string; count: number }[] };
  successfulChangesBySeries: SeriesCount[];
  failedChangesBySeries: (SeriesCount & { error_code: string })[];
  /** Keys scheduled for deletion and not cancelled by the end of the trail. */
  pendingDeletionAtEnd: { keyArn: string; keyId: string; aws_account_id: string; aws_region: string; deletionDate: string; deletionTimestampSeconds: number }[];
  failuresByErrorCode: Record<string, number>;
  /** Ignored records that a careless filter would count, by kind. */
  decoys: Record<string, number>;
  /** Records whose eventSource is kms.amazonaws.com (changes, reads, listings). */
  kmsRecords: number;
  /** Records whose text contains `kms.amazonaws.com` (what `grep -F -c` counts on a JSON Lines file). */
  recordsMentioningKmsSource: number;
  /** Most frequent first. */
  byEventSource: Record<string, number>;
  /** UTF-8 bytes of the records' JSON text. */
  recordBytes: { total: number; min: number; max: number; mean: number; histogramKiB: Record<string, number> };
  firstEventTime: string;
  lastEventTime: string;
}

const SEP = '\u0000';
const bump = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};
const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => a.localeCompare(b);
const sortedObject = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort(byKey));

export class TruthTally {
  #records = 0;
  #duplicates = 0;
  #matched = 0;
  #ignored = 0;
  readonly #successes = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #successSeries = new Map<string, number>();
  readonly #failureSeries = new Map<string, number>();
  readonly #failureCodes = new Map<string, number>();
  readonly #pending = new Map<string, string>();
  readonly #decoys = new Map<string, number>();
  readonly #sources = new Map<string, number>();
  readonly #histogram = new Map<number, number>();
  #kms = 0;
  #mentions = 0;
  #bytes = 0;
  #min = Infinity;
  #max = 0;
  #first: number | null = null;
  #last: number | null = null;

  /** One written line: `redelivery` when it is a copy of a record written before (same eventID). */
  observe(e: Entry, redelivery: boolean): void {
    this.#records++;
    const size = Buffer.byteLength(e.line);
    this.#bytes += size;
    if (size < this.#min) this.#min = size;
    if (size > this.#max) this.#max = size;
    const kib = Math.floor(size / 1024);
    this.#histogram.set(kib, (this.#histogram.get(kib) ?? 0) + 1);
    if (e.line.includes('kms.amazonaws.com')) this.#mentions++;
    bump(this.#sources, e.eventSource ?? '');
    if (e.eventSource === 'kms.amazonaws.com') this.#kms++;
    this.#first ??= e.time;
    this.#last = e.time;
    if (redelivery) {
      this.#duplicates++;
      return;
    }
    if (e.kind === 'ignored') {
      this.#ignored++;
      if (e.decoy !== undefined) bump(this.#decoys, e.decoy);
      return;
    }
    this.#matched++;
    const name = e.eventName ?? '';
    const series = [name, e.account, e.region, e.principalType ?? ''].join(SEP);
    if (e.errorCode === null) {
      bump(this.#successes, name);
      bump(this.#successSeries, series);
      if (e.pending?.action === 'schedule' && e.pending.deletionDate !== undefined) this.#pending.set(e.pending.keyArn, e.pending.deletionDate);
      if (e.pending?.action === 'cancel') this.#pending.delete(e.pending.keyArn);
    } else {
      bump(this.#failures, `${name}${SEP}${e.errorCode}`);
      bump(this.#failureSeries, `${series}${SEP}${e.errorCode}`);
      bump(this.#failureCodes, e.errorCode);
    }
  }

  truth(): TrailTruth {
    const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    return {
      records: this.#records,
      uniqueEventIds: this.#records - this.#duplicates,
      duplicateRecords: this.#duplicates,
      matched: this.#matched,
      ignored: this.#ignored,
      successfulChanges: { total: sum(this.#successes), byEventName: sortedObject(this.#successes) },
      failedChanges: {
        total: sum(this.#failures),
        byEventNameAndErrorCode: [...this.#failures].sort(byKey).map(([k, count]) => {
          const [eventName = '', errorCode = ''] = k.split(SEP);
          return { eventName, errorCode, count };
        }),
      },
      successfulChangesBySeries: [...this.#successSeries].sort(byKey).map(([k, count]) => {
        const [event_name = '', aws_account_id = '', aws_region = '', principal_type = ''] = k.split(SEP);
        return { event_name, aws_account_id, aws_region, principal_type, count };
      }),
      failedChangesBySeries: [...this.#failureSeries].sort(byKey).map(([k, count]) => {
        const [event_name = '', aws_account_id = '', aws_region = '', principal_type = '', error_code = ''] = k.split(SEP);
        return { event_name, aws_account_id, aws_region, principal_type, error_code, count };
      }),
      pendingDeletionAtEnd: [...this.#pending].sort(byKey).map(([arn, deletionDate]) => {
        const [, , , aws_region = '', aws_account_id = '', resource = ''] = arn.split(':');
        return { keyArn: arn, keyId: resource.replace(/^key\//, ''), aws_account_id, aws_region, deletionDate, deletionTimestampSeconds: Date.parse(deletionDate) / 1000 };
      }),
      failuresByErrorCode: sortedObject(this.#failureCodes),
      decoys: sortedObject(this.#decoys),
      kmsRecords: this.#kms,
      recordsMentioningKmsSource: this.#mentions,
      byEventSource: Object.fromEntries([...this.#sources].sort(([a, x], [b, y]) => y - x || a.localeCompare(b))),
      recordBytes: {
        total: this.#bytes,
        min: this.#records === 0 ? 0 : this.#min,
        max: this.#max,
        mean: this.#records === 0 ? 0 : Math.round(this.#bytes / this.#records),
        histogramKiB: Object.fromEntries([...this.#histogram].sort(([a], [b]) => a - b).map(([kib, n]) => [`${kib}-${kib + 1}`, n])),
      },
      firstEventTime: this.#first === null ? '' : iso(this.#first),
      lastEventTime: this.#last === null ? '' : iso(this.#last),
    };
  }
}
