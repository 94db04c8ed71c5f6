// replay --output openmetrics through the whole pipeline: the history's last samples are the plain exposition's counters (same labels, same limiter decisions), and every sample counts exactly the changes before it.
import t from 'tap';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { runReplay } from '../../src/service.ts';
import { HISTORY_METRICS } from '../../src/record/openmetrics-writer.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
/** Each counts one change (success or failure) of either catalog; ScheduleKeyDeletion's 20-day window also raises short_deletion_window. */
const KINDS = ['cloudtrail/DisableKey', 'cloudtrail/ScheduleKeyDeletion', 'cloudtrail/CreateGrant.AccessDenied', 'cloudtrail/CreateKey', 'cloudtrail-pipeline/StopLogging'] as const;
const DISABLE_KEY_ID = '9a7c5e31-0b2d-4f6a-8c1e-3d5f7a9b1c2e';
const KMS_CHANGE_METRICS = ['kms_config_changes_total', 'kms_config_change_failures_total'];
/** 2026-11-20T00:00:00Z */
const DAY = Date.UTC(2026, 10, 20);

interface Change {
  readonly kind: (typeof KINDS)[number];
  readonly id: string;
  readonly time: number;
  /** Another key id for DisableKey's, so --label-key-id has more values than --label-value-limit. */
  readonly keyId?: string;
}

function record({ kind, id, time, keyId }: Change): string {
  const value = JSON.parse(readFileSync(join(FIXTURES, `${kind}.json`), 'utf8')) as Record<string, unknown>;
  value['eventID'] = id;
  value['eventTime'] = new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const text = JSON.stringify(value);
  return keyId === undefined ? text : text.replaceAll(DISABLE_KEY_ID, keyId);
}

async function replay(changes: readonly Change[], settings: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'replay-om-'));
  const trail = join(dir, 'trail.jsonl');
  writeFileSync(trail, `${changes.map(record).join('\n')}\n`);
  const deps = { env: {}, log: pino({ level: 'silent' }), stdin: Readable.from([]) };
  const result = await runReplay([trail], loadConfig({ output: 'openmetrics', ...settings }), deps);
  return { errors: result.errors, exposition: result.exposition, text: [...result.output].join('') };
}

interface Parsed {
  readonly series: Map<string, { readonly value: number; readonly time: number }[]>;
  /** Problems with the text's shape: families or series interleaved, a sample before its TYPE, no # EOF. */
  readonly shape: string[];
}

/** A series' identity whatever the order of its labels. */
function canonical(series: string): string {
  const match = /^([a-z_]+)(?:\{(.*)\})?$/.exec(series);
  if (match === null) return series;
  const labels = (match[2] ?? '').match(/[a-z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
  return `${match[1]}{${[...labels].sort().join(',')}}`;
}

function parseOpenMetrics(text: string): Parsed {
  const series = new Map<string, { value: number; time: number }[]>();
  const shape: string[] = [];
  if (!text.endsWith('\n# EOF\n') && text !== '# EOF\n') shape.push('does not end with # EOF');
  const familiesSeen = new Set<string>();
  let family: string | undefined;
  let last: string | undefined;
  for (const line of text.split('\n').slice(0, -2)) {
    const type = /^# TYPE (\S+) counter$/.exec(line);
    if (type !== null) {
      if (familiesSeen.has(type[1]!)) shape.push(`family ${type[1]} twice`);
      familiesSeen.add((family = type[1]!));
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const sample = /^(\S+) (\d+) (\d+)$/.exec(line);
    if (sample === null) {
      shape.push(`not a sample: ${line}`);
      continue;
    }
    const key = canonical(sample[1]!);
    if (!key.startsWith(`${family}_total{`)) shape.push(`${key} outside its family`);
    if (key !== last && series.has(key)) shape.push(`${key} interleaved`);
    last = key;
    const samples = series.get(key) ?? [];
    samples.push({ value: Number(sample[2]), time: Number(sample[3]) * 1000 });
    series.set(key, samples);
  }
  return { series, shape };
}

/** The exposition's change counters, by canonical series. */
function plainCounters(exposition: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    const name = /^([a-z_]+)/.exec(line)?.[1];
    if (name === undefined || !(HISTORY_METRICS as readonly string[]).includes(name)) continue;
    const at = line.lastIndexOf(' ');
    out.set(canonical(line.slice(0, at)), Number(line.slice(at + 1)));
  }
  return out;
}

t.test('the last samples are the plain exposition\'s counters: same series, labels and label limiter decisions; duplicates counted once', async (t) => {
  const changes: Change[] = [
    { kind: 'cloudtrail/DisableKey', id: 'a', time: DAY + 60_000 },
    { kind: 'cloudtrail/DisableKey', id: 'a', time: DAY + 60_000 },
    { kind: 'cloudtrail/DisableKey', id: 'b', time: DAY + 3_600_000, keyId: '0e6f39c3-6a0b-4f6e-9c41-3c5d1c0a7b11' },
    { kind: 'cloudtrail/ScheduleKeyDeletion', id: 'c', time: DAY + 7_200_000 },
    { kind: 'cloudtrail/CreateGrant.AccessDenied', id: 'd', time: DAY + 7_300_000 },
    { kind: 'cloudtrail-pipeline/StopLogging', id: 'e', time: DAY + 30_000 },
  ];
  const { errors, exposition, text } = await replay(changes, { labelKeyId: true, labelValueLimit: '1', step: '5m' });
  t.same(errors, []);
  const { series, shape } = parseOpenMetrics(text);
  t.same(shape, []);
  const lastValues = new Map([...series].map(([key, samples]) => [key, samples.at(-1)!.value]));
  t.same(lastValues, plainCounters(exposition));
  // --label-value-limit 1: the first key keeps its id, every later key (and with it each series it makes) is __overflow__, in both outputs.
  t.same(
    [...series.keys()].filter((key) => key.includes('__overflow__')).map((key) => /event_name="(\w+)"/.exec(key)?.[1]),
    ['DisableKey', 'ScheduleKeyDeletion', 'CreateGrant', 'ScheduleKeyDeletion', 'CreateGrant'],
  );
  t.equal([...series.keys()].filter((key) => key.includes(`key_id="${DISABLE_KEY_ID}"`)).length, 1, 'the first DisableKey key keeps its id');
  const scheduled = [...series].find(([key]) => key.startsWith('kms_config_change_findings_total{') && key.includes('ScheduleKeyDeletion'));
  t.same(scheduled?.[1], [
    { value: 0, time: DAY + 7_200_000 },
    { value: 1, time: DAY + 7_500_000 },
  ]);
});

t.test('--to runs every series to the end of its day; --output prometheus (the default) prints the exposition', async (t) => {
  const changes: Change[] = [{ kind: 'cloudtrail/CreateKey', id: 'a', time: DAY + 23 * 3_600_000 }];
  const { text } = await replay(changes, { step: '30m', to: '2026-11-20' });
  const [samples] = parseOpenMetrics(text).series.values();
  t.same(samples?.map(({ value, time }) => [value, (time - DAY) / 3_600_000]), [
    [0, 23],
    [1, 23.5],
    [1, 24],
  ]);
  const plain = await replay(changes, { output: 'prometheus' });
  t.equal(plain.text, plain.exposition);
  t.match(plain.text, /^# HELP /);
});

t.test('a bad --output or --step is refused at start, naming the setting', async (t) => {
  t.throws(() => loadConfig({ output: 'json' }), { message: '--output (KMS_EXPORTER_REPLAY_OUTPUT): expected one of prometheus, openmetrics, got "json"' });
  t.throws(() => loadConfig({ step: '1500ms' }), { message: '--step (KMS_EXPORTER_REPLAY_STEP): expected whole seconds, such as 1m, 30s or 1h' });
  t.throws(() => loadConfig({ step: '2d' }), { message: '--step (KMS_EXPORTER_REPLAY_STEP): expected a duration from 1000ms to 24h such as 30s, 5m or 1h30m, got "2d"' });
});

t.test('property: for random change times, every sample counts exactly the changes before it, series never decrease, and the last samples are the exposition', async () => {
  const change = fc.record({ kind: fc.constantFrom(...KINDS), offset: fc.integer({ min: 0, max: 3 * 86_400 }), again: fc.boolean() });
  await fc.assert(
    fc.asyncProperty(fc.array(change, { minLength: 0, maxLength: 25 }), fc.constantFrom(60, 300, 3600), async (drawn, stepSeconds) => {
      const changes: Change[] = drawn.map(({ kind, offset }, i) => ({ kind, id: `e${i}`, time: DAY + offset * 1000 }));
      // A redelivery of a change already read: counted once.
      const redelivered = drawn.flatMap(({ again }, i) => (again ? [changes[i]!] : []));
      const { errors, exposition, text } = await replay([...changes, ...redelivered], { step: `${stepSeconds}s` });
      if (errors.length > 0) return false;
      const { series, shape } = parseOpenMetrics(text);
      if (shape.length > 0) throw new Error(shape.join('; '));
      const step = stepSeconds * 1000;
      for (const samples of series.values()) {
        if (samples[0]!.value !== 0 || samples[0]!.time % step !== 0) return false;
        for (let i = 1; i < samples.length; i++) if (samples[i]!.time !== samples[i - 1]!.time + step || samples[i]!.value < samples[i - 1]!.value) return false;
      }
      const lastValues = [...series].map(([key, samples]) => [key, samples.at(-1)!.value]).sort();
      if (JSON.stringify(lastValues) !== JSON.stringify([...plainCounters(exposition)].sort())) return false;
      // Every KMS change is one increment of kms_config_changes_total or _failures_total, counted from the sample after its step.
      const times = new Set([...series.values()].flatMap((samples) => samples.map((sample) => sample.time)));
      const kms = changes.filter(({ kind }) => kind.startsWith('cloudtrail/'));
      for (const time of times) {
        let total = 0;
        for (const [key, samples] of series) if (KMS_CHANGE_METRICS.some((name) => key.startsWith(`${name}{`))) total += samples.find((sample) => sample.time === time)?.value ?? 0;
        if (total !== kms.filter((c) => Math.floor(c.time / step) * step < time).length) return false;
      }
      return true;
    }),
    { numRuns: 30 },
  );
});
