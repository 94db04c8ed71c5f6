// Random KMS configuration changes: for a catalog event, its fixture re-targeted onto a key of the organisation, succeeded or failed.

import type { CatalogEntry } from '../src/catalog/kms-events.ts';
import type { Organisation } from './organisation.ts';
import { keysIn, otherRegions } from './organisation.ts';
import type { Principal } from './principals.ts';
import { awsService, through } from './principals.ts';
import type { WeightTable } from './random.ts';
import type { Entry, Outcome, Pending, RecordMaker, StampOptions } from './records.ts';
import { TEMPLATE_ACCOUNTS, TEMPLATE_KEYS, TEMPLATE_STORE, hasFixture, keyArn, obj, onto } from './templates.ts';
import type { Pairs, Rec, Target } from './templates.ts';
import { DAY, iso, javaMedium, kmsDoc24h } from './time.ts';

export interface ChangeFailures {
  /** Share of changes made by a caller (not AWS service events) that fail. */
  readonly rate: number;
  readonly codes: WeightTable<string>;
}

const MESSAGES: Readonly<Record<string, (resource: string) => string>> = {
  KMSInvalidStateException: (resource) => `${resource} is pending deletion.`,
  NotFoundException: (resource) => `Key '${resource}' does not exist`,
  LimitExceededException: () => 'The request was rejected because a quota was exceeded.',
  AlreadyExistsException: (resource) => `An alias with the name ${resource} already exists`,
};

/** Which template Region is the record's own, and which the other one it names (replica, new primary). */
const MULTI_REGION_TEMPLATES: Readonly<Record<string, readonly [home: string, other?: string]>> = {
  ReplicateKey: ['us-east-1', 'eu-west-1'],
  UpdatePrimaryRegion: ['eu-west-1', 'ap-southeast-2'],
  SynchronizeMultiRegionKey: ['us-east-1'],
};

/** Key descriptions, some not ASCII: a reader that splits raw bytes must keep UTF-8 intact. */
const DESCRIPTIONS = ['Payments data at rest', 'Orders service envelope key', 'Data lake bucket encryption', 'Backup vault key', 'Schlüssel für Zahlungsdaten (EU)', 'Clé de chiffrement — journaux', 'CI artifact signing'];

// The values the EBS grant fixture carries, replaced so that every grant is its own.
const TEMPLATE_VOLUME = 'vol-0a1b2c3d4e5f60718';
const TEMPLATE_GRANT_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';

export function randomChange(maker: RecordMaker, org: Organisation, entry: CatalogEntry, failures: ChangeFailures, time: number): Entry {
  const random = maker.random;
  const name = entry.eventName;
  const account = random.weighted(org.accountWeights);
  let target: Target;
  let pairs: Pairs;
  let resource: string;
  const multiRegion = MULTI_REGION_TEMPLATES[name];
  if (multiRegion !== undefined) {
    target = random.pick(account.multiRegionKeys);
    const [home, other] = multiRegion;
    pairs = [
      [home, target.region],
      ...(other === undefined ? [] : [[other, random.pick(otherRegions(org, target.region))] as const]),
      ...TEMPLATE_ACCOUNTS.map((a) => [a, account.id] as const),
      ...TEMPLATE_KEYS.map((k) => [k, target.keyId] as const),
    ];
    resource = keyArn(target);
  } else if (entry.subject === 'custom_key_store') {
    target = { account: account.id, region: account.storeRegion, keyId: 'unused' };
    const store = random.pick(account.customKeyStores);
    pairs = onto(target, [[TEMPLATE_STORE, store]]);
    resource = `arn:aws:kms:${target.region}:${target.account}:custom-key-store/${store}`;
  } else {
    target = random.pick(keysIn(account, random.weighted(org.regionWeights)));
    pairs = onto(target);
    resource = keyArn(target);
  }

  const failed = !entry.serviceEvent && random.chance(failures.rate);
  let file = `${name}.json`;
  let principal: Principal | undefined;
  let error: Outcome | undefined;
  if (failed) {
    const code = random.weighted(failures.codes);
    if (hasFixture(`${name}.${code}.json`)) file = `${name}.${code}.json`;
    const message = MESSAGES[code]?.(resource);
    error = { code, resource, ...(message === undefined ? {} : { message }) };
    principal = random.pick(account.humans);
  } else if (name === 'CreateGrant' && random.chance(0.7)) {
    // Most grants are made by EBS and other services on a workload's behalf.
    file = 'CreateGrant.via-ec2.json';
    principal = through(random.pick(account.workloads), 'ec2.amazonaws.com');
    pairs = [[TEMPLATE_VOLUME, `vol-0${random.hex(16)}`], [TEMPLATE_GRANT_ID, random.hex(64)], ...pairs];
  } else if (name === 'RetireGrant' && random.chance(0.5)) {
    principal = awsService('ec2.amazonaws.com');
  } else if (!entry.serviceEvent) {
    principal = random.pick(account.humans);
  }

  const opts: StampOptions = {
    pairs,
    ...(principal === undefined ? {} : { principal }),
    ...(error === undefined ? {} : { error }),
    ...(failed ? {} : succeeded(maker, name, target, time)),
  };
  return maker.change(file, time, target, opts);
}

/** What a successful change's record says that depends on its time: dates in the response, the deletion it schedules. */
function succeeded(maker: RecordMaker, name: string, target: Target, time: number): { edit?: (r: Rec) => void; pending?: Pending } {
  const random = maker.random;
  switch (name) {
    case 'ScheduleKeyDeletion': {
      const days = random.pick([7, 7, 14, 30, 30, 30]);
      const due = time + days * DAY;
      // Both non-ISO forms real records show.
      const deletionDate = random.chance(0.3) ? kmsDoc24h(due) : javaMedium(due);
      return {
        edit: (r) => {
          obj(r, 'requestParameters')['pendingWindowInDays'] = days;
          obj(r, 'responseElements')['deletionDate'] = deletionDate;
        },
        pending: { action: 'schedule', keyArn: keyArn(target), deletionDate: iso(due) },
      };
    }
    case 'CancelKeyDeletion':
      return { pending: { action: 'cancel', keyArn: keyArn(target) } };
    case 'CreateKey': {
      const description = random.pick(DESCRIPTIONS);
      return {
        edit: (r) => {
          obj(r, 'requestParameters')['description'] = description;
          const metadata = obj(obj(r, 'responseElements'), 'keyMetadata');
          metadata['description'] = description;
          metadata['creationDate'] = javaMedium(time);
        },
      };
    }
    case 'UpdateKeyDescription': {
      const description = random.pick(DESCRIPTIONS);
      return { edit: (r) => void (obj(r, 'requestParameters')['description'] = description) };
    }
    case 'ReplicateKey':
      return { edit: (r) => void (obj(obj(r, 'responseElements'), 'replicaKeyMetadata')['creationDate'] = javaMedium(time)) };
    default:
      return {};
  }
}
