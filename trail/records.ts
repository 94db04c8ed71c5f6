// One trail record: a template stamped with its time, fresh ids, caller and outcome, plus what the generator knows about it.

import type { Principal } from './principals.ts';
import type { Random } from './random.ts';
import { retarget, TEMPLATE_ACCOUNTS, TEMPLATE_REGIONS } from './templates.ts';
import type { Pairs, Rec, Target } from './templates.ts';
import { onto } from './templates.ts';
import { iso } from './time.ts';

/** A catalog change (counted by the exporter) or anything else (to be ignored). */
export type Kind = 'change' | 'ignored';

/** ScheduleKeyDeletion / CancelKeyDeletion bookkeeping, for the keys pending deletion at the end. */
export interface Pending {
  readonly action: 'schedule' | 'cancel';
  readonly keyArn: string;
  readonly deletionDate?: string;
}

export interface Entry {
  readonly time: number;
  /** Creation order: breaks ties between equal times, so sorting is deterministic. */
  readonly seq: number;
  readonly line: string;
  readonly kind: Kind;
  readonly eventSource: string | null;
  readonly eventName: string | null;
  readonly errorCode: string | null;
  readonly account: string;
  readonly region: string;
  readonly principalType: string | null;
  readonly eventID: string;
  readonly pending?: Pending;
  /** For ignored records that a careless filter would count: what kind of look-alike it is. */
  readonly decoy?: string;
}

export interface Outcome {
  readonly code: string;
  /** Default: IAM's "User: … is not authorized to perform: kms:X on resource: R …" for `resource`. */
  readonly message?: string;
  readonly resource: string;
}

export interface StampOptions {
  readonly principal?: Principal;
  /** Literal replacements for the template; default: everything onto the target. */
  readonly pairs?: Pairs;
  readonly error?: Outcome;
  /** Last changes to the record (dates derived from the event time, ...). */
  readonly edit?: (r: Rec) => void;
  readonly pending?: Pending;
  readonly decoy?: string;
}

/** Makes entries; holds the trail's random stream and the creation counter. */
export class RecordMaker {
  readonly random: Random;
  #seq = 0;

  constructor(random: Random) {
    this.random = random;
  }

  /** A catalog change from a fixture (success unless `error` is given), re-targeted onto `target`. */
  change(file: string, time: number, target: Target, opts: StampOptions = {}): Entry {
    return this.stamp(retarget(file, opts.pairs ?? onto(target)), time, 'change', opts);
  }

  /** An ignored record from a fixture of another service, moved to `account` and `region` (its keys kept). */
  fixture(file: string, time: number, account: string, region: string, opts: StampOptions = {}): Entry {
    const pairs: Pairs = [...(opts.pairs ?? []), ...TEMPLATE_ACCOUNTS.map((a) => [a, account] as const), ...TEMPLATE_REGIONS.map((x) => [x, region] as const)];
    return this.stamp(retarget(file, pairs), time, 'ignored', opts);
  }

  /** Gives `r` its time and fresh ids, the caller and the outcome, and records what it is. */
  stamp(record: Rec, time: number, kind: Kind, opts: StampOptions = {}): Entry {
    let r = record;
    const random = this.random;
    r['eventTime'] = iso(time);
    r['eventID'] = random.uuid();
    if ('requestID' in r) r['requestID'] = random.uuid();
    if ('sharedEventID' in r) r['sharedEventID'] = random.uuid();
    const p = opts.principal;
    if (p !== undefined) {
      r['userIdentity'] = p.identity(time);
      r['sourceIPAddress'] = p.ip;
      r['userAgent'] = p.ua;
    }
    if (opts.error !== undefined) {
      const eventName = String(r['eventName']);
      const message =
        opts.error.message ??
        `User: ${p?.arn ?? 'unknown'} is not authorized to perform: kms:${eventName} on resource: ${opts.error.resource} because no identity-based policy allows the kms:${eventName} action`;
      r = withError(r, opts.error.code, message);
    }
    opts.edit?.(r);
    const ui = r['userIdentity'];
    // AWS service events carry a userIdentity without a type.
    const principalType = ui !== null && typeof ui === 'object' && !Array.isArray(ui) ? (typeof ui['type'] === 'string' ? ui['type'] : 'AWSService') : null;
    return {
      time,
      seq: this.#seq++,
      line: JSON.stringify(r),
      kind,
      eventSource: typeof r['eventSource'] === 'string' ? r['eventSource'] : null,
      eventName: typeof r['eventName'] === 'string' ? r['eventName'] : null,
      errorCode: typeof r['errorCode'] === 'string' ? r['errorCode'] : null,
      account: String(r['recipientAccountId']),
      region: String(r['awsRegion']),
      principalType,
      eventID: String(r['eventID']),
      ...(opts.pending !== undefined ? { pending: opts.pending } : {}),
      ...(opts.decoy !== undefined ? { decoy: opts.decoy } : {}),
    };
  }
}

/** A failed call: error fields where CloudTrail writes them (after userAgent), and no response. */
export function withError(r: Rec, code: string, message: string): Rec {
  let out = r;
  if (!('errorCode' in r)) {
    out = {};
    for (const [key, value] of Object.entries(r)) {
      out[key] = value;
      if (key === 'userAgent') {
        out['errorCode'] = code;
        out['errorMessage'] = message;
      }
    }
  }
  out['errorCode'] = code;
  out['errorMessage'] = message;
  out['responseElements'] = null;
  return out;
}
