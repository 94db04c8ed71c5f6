// The trail generator: N CloudTrail records of a given mix, drawn from one seed, with their ground truth.
//
// A trail is an organisation (accounts, keys, callers), an optional story (records placed by hand,
// e.g. the example trail's key scheduled for deletion and cancelled the next morning) and records
// drawn at random from a mix: KMS reads, KMS changes (some failed), other services' calls, and
// re-deliveries of the same record, as CloudTrail's at-least-once delivery makes.

import { CATALOG } from '../src/catalog/kms-events.ts';
import type { CatalogEntry } from '../src/catalog/kms-events.ts';
import type { ChangeFailures } from './kms-changes.ts';
import { randomChange } from './kms-changes.ts';
import type { KmsReadFixture } from './kms-reads.ts';
import { kmsRead } from './kms-reads.ts';
import type { Organisation } from './organisation.ts';
import type { OtherCallName } from './other-calls.ts';
import { otherCall } from './other-calls.ts';
import { Random } from './random.ts';
import type { WeightTable } from './random.ts';
import type { Entry, StampOptions } from './records.ts';
import { RecordMaker } from './records.ts';
import type { Target } from './templates.ts';
import { iso } from './time.ts';
import type { TrailTruth } from './truth.ts';
import { TruthTally } from './truth.ts';

export type TimeModel =
  /** Times uniform over [start, end): the whole trail is held and sorted before the first record is written. */
  | { readonly kind: 'window'; readonly start: number; readonly end: number }
  /** Each record a random 0..maxStepMs after the one before: records are written as they are drawn, in any number. */
  | { readonly kind: 'clock'; readonly start: number; readonly maxStepMs: number };

/** What the records drawn at random are. Shares are of those records; what is left is other calls. */
export interface Mix {
  readonly kmsReads: number;
  readonly kmsReadKinds: WeightTable<KmsReadFixture>;
  readonly changes: number;
  /** By catalog event name; AWS service events (DeleteKey, RotateKey...) included. */
  readonly changeWeights: WeightTable<string>;
  /** The first changes walk the catalog in order, so every event name appears in any trail with enough changes. */
  readonly walkCatalogFirst: boolean;
  readonly changeFailures: ChangeFailures;
  readonly otherKinds: WeightTable<OtherCallName>;
  /** Share of other calls denied. */
  readonly otherFailureRate: number;
  /** Share of drawn records delivered a second time (same line, same eventID) 5 to 44 records later. */
  readonly duplicates: number;
}

export interface TrailSpec<O extends Organisation = Organisation> {
  readonly seed: number;
  /** Lines in the trail, re-deliveries and story included. */
  readonly records: number;
  readonly time: TimeModel;
  readonly organisation: (random: Random) => O;
  readonly story?: (story: Story, org: O) => void;
  readonly mix: Mix;
}

/** Records placed by hand, drawn from the trail's stream before the random ones. */
export class Story {
  readonly random: Random;
  readonly org: Organisation;
  readonly entries: Entry[] = [];
  readonly redeliveries: Entry[] = [];
  readonly #maker: RecordMaker;

  constructor(maker: RecordMaker, org: Organisation) {
    this.#maker = maker;
    this.random = maker.random;
    this.org = org;
  }

  change(file: string, time: number, target: Target, opts: StampOptions = {}): Entry {
    const e = this.#maker.change(file, time, target, opts);
    this.entries.push(e);
    return e;
  }

  /** A look-alike or other ignored record from a fixture, moved to `account` and `region`. */
  fixture(file: string, time: number, account: string, region: string, opts: StampOptions = {}): Entry {
    const e = this.#maker.fixture(file, time, account, region, opts);
    this.entries.push(e);
    return e;
  }

  /** These records are delivered twice; their copies follow them by 5 to 44 records. */
  redeliver(...entries: Entry[]): void {
    this.redeliveries.push(...entries);
  }
}

export interface Trail<O extends Organisation = Organisation> extends Iterable<Entry> {
  readonly organisation: O;
  /** Records delivered twice, in the order they were chosen (the story's first). */
  readonly redelivered: readonly Entry[];
  /** The ground truth of the records iterated; complete once the iteration has ended. */
  truth(): TrailTruth;
}

const compareEntries = (x: Entry, y: Entry): number => x.time - y.time || x.seq - y.seq;

export function generateTrail<O extends Organisation>(spec: TrailSpec<O>): Trail<O> {
  const random = new Random(spec.seed);
  const maker = new RecordMaker(random);
  const org = spec.organisation(random);
  const story = new Story(maker, org);
  spec.story?.(story, org);
  const { mix } = spec;
  const duplicateChoices = random.stream('duplicates');
  const redelivered: Entry[] = [...story.redeliveries];
  const toRedeliver = new Set(redelivered);
  const tally = new TruthTally();
  const changeTable: WeightTable<CatalogEntry> = mix.changeWeights.map(([weight, name]) => [weight, catalogEntry(name)] as const);
  let changes = 0;
  let iterated = false;

  let clock = spec.time.start;
  const nextTime = (): number => {
    const time = spec.time;
    if (time.kind === 'window') return time.start + Math.floor(random.float() * (time.end - time.start));
    clock += random.int(time.maxStepMs);
    return clock;
  };

  function* drawn(): Generator<Entry> {
    let budget = spec.records - story.entries.length - story.redeliveries.length;
    while (budget > 0) {
      const time = nextTime();
      const r = random.float();
      let e: Entry;
      if (r < mix.kmsReads) e = kmsRead(maker, org, mix.kmsReadKinds, time);
      else if (r < mix.kmsReads + mix.changes) {
        const entry = mix.walkCatalogFirst && changes < CATALOG.length ? CATALOG[changes]! : random.weighted(changeTable);
        changes++;
        e = randomChange(maker, org, entry, mix.changeFailures, time);
      } else e = otherCall(maker, org, mix.otherKinds, mix.otherFailureRate, time);
      budget--;
      if (mix.duplicates > 0 && budget > 0 && duplicateChoices.chance(mix.duplicates)) {
        redelivered.push(e);
        toRedeliver.add(e);
        budget--;
      }
      yield e;
    }
  }

  // A re-delivered record's copy follows it by 5 to 44 records (or ends the trail).
  const copiesAfter = new Map<number, Entry[]>();
  const place = (index: number, e: Entry, last = Infinity): void => {
    const later = Math.min(last, index + 5 + random.int(40));
    copiesAfter.set(later, [...(copiesAfter.get(later) ?? []), e]);
  };

  /** Writes `ordered` with the copies; `placeOnTheWay` when the copies' places are decided as their originals go by. */
  function* deliver(ordered: Iterable<Entry>, placeOnTheWay: boolean): Generator<Entry> {
    let index = 0;
    for (const e of ordered) {
      tally.observe(e, false);
      yield e;
      if (placeOnTheWay && toRedeliver.has(e)) place(index, e);
      for (const copy of copiesAfter.get(index) ?? []) {
        tally.observe(copy, true);
        yield copy;
      }
      copiesAfter.delete(index);
      index++;
    }
    for (const later of [...copiesAfter.keys()].sort((a, b) => a - b)) {
      for (const copy of copiesAfter.get(later)!) {
        tally.observe(copy, true);
        yield copy;
      }
    }
  }

  function* records(): Generator<Entry> {
    if (iterated) throw new Error('a trail can be iterated once');
    iterated = true;
    const time = spec.time;
    if (time.kind === 'clock') {
      yield* deliver(merged([...story.entries].sort(compareEntries), drawn()), true);
      return;
    }
    const all = [...story.entries, ...drawn()];
    for (const e of all) if (e.time < time.start || e.time >= time.end) throw new Error(`record outside the window: ${iso(e.time)}`);
    all.sort(compareEntries);
    // The order is known: place every copy now, in the order the records were chosen.
    const position = new Map(all.map((e, i) => [e, i] as const));
    for (const e of redelivered) {
      const index = position.get(e);
      if (index === undefined) throw new Error('a re-delivered record is not in the trail');
      place(index, e, all.length - 1);
    }
    yield* deliver(all, false);
  }

  return {
    organisation: org,
    redelivered,
    [Symbol.iterator]: records,
    truth: () => tally.truth(),
  };
}

/** Two time-ordered sequences as one, `a` first on equal times. */
function* merged(a: readonly Entry[], b: Iterable<Entry>): Generator<Entry> {
  let i = 0;
  for (const e of b) {
    while (i < a.length && a[i]!.time <= e.time) yield a[i++]!;
    yield e;
  }
  while (i < a.length) yield a[i++]!;
}

function catalogEntry(name: string): CatalogEntry {
  const entry = CATALOG.find((e) => e.eventName === name);
  if (entry === undefined) throw new Error(`${name} is not a catalog event`);
  return entry;
}
