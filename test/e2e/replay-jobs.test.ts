// replay --jobs N: files decoded in worker threads, counted in order. The exposition, the log events and the errors are the same for any N.
import t from 'tap';
import fc from 'fast-check';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { runReplay } from '../../src/service.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'cloudtrail');
const PIPELINE = join(import.meta.dirname, '..', 'fixtures', 'cloudtrail-pipeline');
const NEGATIVE = join(FIXTURES, 'negative');

const read = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.json') && name !== 'expected.json')
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>);
/** Changes of both catalogs, and records that are none. */
const RECORDS = [...read(FIXTURES), ...read(PIPELINE), ...read(NEGATIVE)];

type Form = 's3' | 's3-gzip' | 'jsonl' | 'jsonl-gzip';

function encode(form: Form, records: readonly object[]): Buffer {
  const plain = form.startsWith('s3') ? Buffer.from(JSON.stringify({ Records: records })) : Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return form.endsWith('gzip') ? gzipSync(plain) : plain;
}

interface Layout {
  /** Each file: its form and the indexes of its records (a record in two files is a duplicate across files). */
  readonly files: readonly { readonly form: Form; readonly records: readonly number[] }[];
  /** Insert a missing path and a corrupt gzip file at these places. */
  readonly missingAt: number;
  readonly corruptAt: number;
}

function write(dir: string, layout: Layout): string[] {
  const paths = layout.files.map(({ form, records }, i) => {
    // Each record gets an eventID of its own index: the same index in two files is one change delivered twice.
    const values = records.map((index) => ({ ...RECORDS[index % RECORDS.length], eventID: `event-${index}` }));
    const path = join(dir, `file-${i}.${form.startsWith('s3') ? 'json' : 'jsonl'}${form.endsWith('gzip') ? '.gz' : ''}`);
    writeFileSync(path, encode(form, values));
    return path;
  });
  const corrupt = join(dir, 'corrupt.json.gz');
  const gz = gzipSync(Buffer.from(JSON.stringify({ Records: RECORDS.slice(0, 3) })));
  gz[gz.length >> 1] = (gz[gz.length >> 1] ?? 0) ^ 0xff;
  writeFileSync(corrupt, gz);
  paths.splice(layout.missingAt % (paths.length + 1), 0, join(dir, 'missing.json.gz'));
  paths.splice(layout.corruptAt % (paths.length + 1), 0, corrupt);
  return paths;
}

/** What a user sees of a replay: stdout without the process's own metrics, the log events, stderr's errors. */
async function replay(paths: readonly string[], dir: string, jobs: number, settings: Record<string, unknown> = {}) {
  const logs = join(dir, `logs-${jobs}.jsonl`);
  const fd = openSync(logs, 'w');
  try {
    const deps = { env: {}, log: pino({ level: 'silent' }), stdin: Readable.from([]), logsFd: fd, now: () => Date.UTC(2026, 11, 2) };
    const result = await runReplay(paths, loadConfig({ jobs: String(jobs), logs, ...settings }), deps);
    const exposition = result.exposition.split('\n').filter((line) => !/^(# (HELP|TYPE) )?process_/.test(line)).join('\n');
    return { exposition, logs: readFileSync(logs, 'utf8'), errors: result.errors.map((error) => error.message) };
  } finally {
    closeSync(fd);
  }
}

t.test('the same files give the same exposition, log events and errors with 1, 2 and 4 threads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-jobs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const all = RECORDS.map((_, i) => i);
  const layout: Layout = {
    files: [
      { form: 's3-gzip', records: all.slice(0, 20) },
      { form: 'jsonl', records: all.slice(15, 40) },
      { form: 's3', records: [...all.slice(40), 3, 4] },
      { form: 'jsonl-gzip', records: all },
      { form: 's3-gzip', records: [] },
    ],
    missingAt: 2,
    corruptAt: 4,
  };
  const paths = write(dir, layout);
  // A label limit of 3 key ids: which keys get their own series depends on the order the changes are counted in.
  const settings = { labelKeyId: true, labelValueLimit: '3' };
  const one = await replay(paths, dir, 1, settings);
  t.match(one.exposition, /kms_exporter_records_total\{source="replay",result="duplicate"\} [1-9]/, 'duplicates across files are found');
  t.match(one.exposition, /key_id="__overflow__"/, 'the label limit is reached');
  t.same(one.errors, [`${join(dir, 'missing.json.gz')}: no such file`, `${join(dir, 'corrupt.json.gz')}: gzip stream is corrupt (incorrect data check)`], 'each failed file, in order, after what was read from it');
  t.not(one.logs, '', 'log events written');
  for (const jobs of [2, 4]) t.same(await replay(paths, dir, jobs, settings), one, `--jobs ${jobs}`);
});

t.test('property: any split of a trail into files of any form counts the same with 1 and 3 threads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-jobs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const form = fc.constantFrom<Form>('s3', 's3-gzip', 'jsonl', 'jsonl-gzip');
  const file = fc.record({ form, records: fc.array(fc.nat(RECORDS.length * 2), { maxLength: 30 }) });
  let run = 0;
  await t.resolves(fc.assert(
    fc.asyncProperty(fc.record({ files: fc.array(file, { minLength: 1, maxLength: 8 }), missingAt: fc.nat(), corruptAt: fc.nat() }), async (layout) => {
      const runDir = join(dir, String(run++));
      const paths = write(mkdtempSync(`${runDir}-`), layout);
      const [one, three] = [await replay(paths, dir, 1), await replay(paths, dir, 3)];
      return JSON.stringify(one) === JSON.stringify(three);
    }),
    { numRuns: 6 },
  ));
});
