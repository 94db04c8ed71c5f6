// Seeded stream of KMS change records built from the CloudTrail fixtures, every eventID distinct, for the state-memory benchmark.
//
// Unlike generate-trail.ts (a realistic trail: 1.5% changes over a fixed organisation of
// keys), this yields nothing but catalog changes, and can give every ScheduleKeyDeletion a
// key never seen before: the workload that fills every bounded state table. The records
// are the test fixtures (shapes copied from AWS's documentation) with the eventID, the
// eventTime, the key, the account and the region rewritten, so every field the classifier
// reads is the one a real record has.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyRecord } from '../src/classify/kms-change.ts';
import { findRoot } from './harness.ts';

/** What a stream holds: `schedule-deletion` is every record a ScheduleKeyDeletion of a new key; `assorted` draws every fixture alike; `half-deletions` alternates the two. */
export type ChangeMix = 'schedule-deletion' | 'assorted' | 'half-deletions';

export interface ChangeStreamOptions {
  readonly mix: ChangeMix;
  readonly records: number;
  readonly seed: number;
  /** eventTime of the first record (ms); each next one is `stepMs` later. */
  readonly start: number;
  readonly stepMs: number;
  /** Accounts and regions drawn from, which bound the label sets of the change counters. */
  readonly accounts: number;
  readonly regions: readonly string[];
}

export interface ChangeTruth {
  records: number;
  /** Successful changes and failed attempts, by event name. */
  byEventName: Record<string, { succeeded: number; failed: number }>;
  /** ScheduleKeyDeletion records that set a pending deletion. */
  scheduledDeletions: number;
}

// From the repository root: the same fixtures whether this runs from bench/ or dist/bench/.
const FIXTURES = join(findRoot(import.meta.dirname), 'test', 'fixtures', 'cloudtrail');
const MAIN_KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MAIN_MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';
const ACCOUNT_A = '111122223333';
const ACCOUNT_B = '444455556666';

type Slot = 'eventId' | 'eventTime' | 'key' | 'mrk' | 'accountA' | 'accountB' | 'region' | 'deletionDate';
type Part = string | { readonly slot: Slot };

interface Template {
  readonly name: string;
  readonly parts: readonly Part[];
  readonly eventName: string;
  readonly outcome: 'success' | 'failure';
  readonly schedules: boolean;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const hex8 = (value: number) => (value >>> 0).toString(16).padStart(8, '0');

/** The fixture as one line with its variable fields cut out as slots. */
function compile(name: string, text: string): Template | undefined {
  const record = JSON.parse(text) as Record<string, unknown>;
  if (typeof record['eventID'] !== 'string') return undefined; // a record without an eventID cannot be de-duplicated
  const region = String(record['awsRegion']);
  let line = JSON.stringify(record);
  const marks: [string, Slot][] = [
    [`"eventID":"${record['eventID']}"`, 'eventId'],
    [`"eventTime":"${record['eventTime']}"`, 'eventTime'],
  ];
  const response = record['responseElements'] as Record<string, unknown> | null;
  if (typeof response?.['deletionDate'] === 'string') marks.push([`"deletionDate":"${response['deletionDate']}"`, 'deletionDate']);
  for (const [text, slot] of marks) line = line.replace(text, `${text.slice(0, text.indexOf(':') + 1)}"\u0000${slot}\u0000"`);
  for (const [text, slot] of [[MAIN_KEY, 'key'], [MAIN_MRK, 'mrk'], [ACCOUNT_A, 'accountA'], [ACCOUNT_B, 'accountB'], [region, 'region']] as const) line = line.replaceAll(text, `\u0000${slot}\u0000`);
  const parts: Part[] = line.split('\u0000').map((piece, i) => (i % 2 === 1 ? { slot: piece as Slot } : piece));
  // Classified once, by the product's own classifier: the truth the benchmark checks counters against.
  const sample = render(parts, { eventId: '00000000-0000-4000-8000-000000000000', eventTime: '2026-11-20T10:00:00Z', key: MAIN_KEY, mrk: MAIN_MRK, accountA: ACCOUNT_A, accountB: ACCOUNT_B, region, deletionDate: 'Dec 10, 2026 18:58:30 PM' });
  const classified = classifyRecord(JSON.parse(sample));
  if (classified.kind !== 'change') throw new Error(`fixture ${name} is not a change (${classified.kind})`);
  const { change } = classified;
  return { name, parts, eventName: change.entry.eventName, outcome: change.outcome, schedules: change.deletion !== undefined };
}

function render(parts: readonly Part[], values: Readonly<Record<Slot, string>>): string {
  let out = '';
  for (const part of parts) out += typeof part === 'string' ? part : values[part.slot];
  return out;
}

let templates: readonly Template[] | undefined;
/** Every fixture with an eventID, in name order. */
export function changeTemplates(): readonly Template[] {
  templates ??= readdirSync(FIXTURES)
    .filter((name) => name.endsWith('.json') && name !== 'expected.json')
    .sort()
    .flatMap((name) => compile(name, readFileSync(join(FIXTURES, name), 'utf8')) ?? []);
  return templates;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** CloudTrail's deletionDate form: "Dec 10, 2026 18:58:30 PM" (24-hour clock, redundant marker). */
function awsDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}

/**
 * The records, one JSON line each, and (filled in as they are drawn) their truth. Record i's
 * eventID and a ScheduleKeyDeletion's key carry i in their first eight hex digits, so both are
 * distinct by construction; the rest of each id is seeded.
 */
export function changeStream(options: ChangeStreamOptions): { readonly records: Iterable<string>; readonly truth: ChangeTruth } {
  const all = changeTemplates();
  const deletion = all.find((t) => t.name === 'ScheduleKeyDeletion.json')!;
  const truth: ChangeTruth = { records: 0, byEventName: {}, scheduledDeletions: 0 };
  const accounts = Array.from({ length: options.accounts }, (_, i) => String(200000000000 + i * 7919));
  const u32 = mulberry32(options.seed);
  const id = (head: number) => {
    const b = hex8(u32());
    const c = hex8(u32());
    return `${hex8(head)}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${'89ab'[u32() & 3]}${c.slice(1, 4)}-${c.slice(4)}${hex8(u32())}`;
  };
  function* records(): Generator<string> {
    for (let i = 0; i < options.records; i++) {
      const template = options.mix === 'schedule-deletion' || (options.mix === 'half-deletions' && i % 2 === 0) ? deletion : all[u32() % all.length]!;
      // A deletion in the stream's own mix gets a new key; the assorted changes reuse a key space as large as the stream, so some meet again.
      const keyIndex = template === deletion && options.mix !== 'assorted' ? i : u32() % options.records;
      const key = id(keyIndex);
      const account = u32() % accounts.length;
      const eventTime = options.start + i * options.stepMs;
      const line = render(template.parts, {
        eventId: id(i),
        eventTime: new Date(eventTime - (eventTime % 1000)).toISOString().replace('.000Z', 'Z'),
        key,
        mrk: `mrk-${key.replaceAll('-', '')}`,
        accountA: accounts[account]!,
        accountB: accounts[(account + 1) % accounts.length]!,
        region: options.regions[u32() % options.regions.length]!,
        deletionDate: awsDate(eventTime + (7 + (u32() % 24)) * 86_400_000),
      });
      const count = (truth.byEventName[template.eventName] ??= { succeeded: 0, failed: 0 });
      if (template.outcome === 'success') count.succeeded++;
      else count.failed++;
      if (template.schedules) truth.scheduledDeletions++;
      truth.records++;
      yield line;
    }
  }
  return { records: records(), truth };
}
