// What the replay readers and runReplay tell the progress: every local path's size before any is read, the bytes as
// they are read, each input's end, and the records and changes the pipeline counted, equal to the exposition's.
import t from 'tap';
import { RecordingProgress } from '../../support/recording-progress.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { localSizes } from '../../../src/replay/progress.ts';
import { runReplay } from '../../../src/service.ts';
import { replayFiles } from '../../../src/sources/replay-files.ts';
import { cloudTrailRecord } from '../../support/cloudtrail-record.ts';
import { sample } from '../../support/service-process.ts';

const T0 = Date.parse('2026-11-20T09:00:00Z');
const OPTIONS = { maxRecordBytes: 1024 * 1024, maxDocumentBytes: 64 * 1024 * 1024 };
const TRAIL = new URL('../../../examples/trail.jsonl.gz', import.meta.url).pathname;


t.test('runReplay: each path sized before any is read (stdin unknown, a missing file 0), its bytes as read, its end, failed or not', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kce-progress-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const jsonl = Buffer.from(['e1', 'e2'].map((id) => `${cloudTrailRecord('DisableKey', id, T0)}\n`).join(''));
  const gzip = gzipSync(jsonl);
  const plain = join(root, 'a.jsonl');
  const zipped = join(root, 'b.jsonl.gz');
  writeFileSync(plain, jsonl);
  writeFileSync(zipped, gzip);
  const progress = new RecordingProgress();
  const stdin = Readable.from([jsonl.subarray(0, 100), jsonl.subarray(100)]);
  const result = await runReplay([plain, join(root, 'missing.jsonl'), zipped, '-'], loadConfig({ jobs: '1' }), { env: {}, log: pino({ level: 'silent' }), stdin, progress });
  t.same(progress.calls, [
    `known 1 ${jsonl.length}`,
    'known 1 0',
    `known 1 ${gzip.length}`,
    'known 1 ?',
    `read ${jsonl.length}`,
    'done',
    'done',
    `read ${gzip.length}`,
    'done',
    `read ${jsonl.length}`,
    'done',
  ]);
  t.same(result.errors.map((error) => error.message), [`${join(root, 'missing.jsonl')}: no such file`]);
  t.equal(progress.records, 6, 'the records of the three readable inputs');
});

t.test('replayFiles (serve\'s replay source) reads every record of its paths', async (t) => {
  const seen: number[] = [];
  for await (const batch of replayFiles([TRAIL], { stdin: Readable.from([]), ...OPTIONS }, () => t.fail('no error'))) seen.push(batch.records.length + batch.skipped);
  t.equal(seen.reduce((a, b) => a + b, 0), 2000);
});

t.test('runReplay: the records and changes counted are those of the exposition; the progress is the caller\'s to stop', async (t) => {
  const progress = new RecordingProgress();
  const result = await runReplay([TRAIL, '-'], loadConfig({ jobs: '1' }), { env: {}, log: pino({ level: 'silent' }), stdin: Readable.from([readFileSync(TRAIL)]), progress });
  t.same(result.errors, []);
  const size = readFileSync(TRAIL).length;
  t.same(progress.calls, [`known 1 ${size}`, 'known 1 ?', `read ${size}`, 'done', `read ${size}`, 'done']);
  t.equal(progress.records, sample(result.exposition, 'kms_exporter_records_total'), 'every record read, whatever became of it');
  t.equal(progress.records, 4000);
  t.equal(progress.changes, sample(result.exposition, 'kms_config_changes_total') + sample(result.exposition, 'kms_config_change_failures_total'), 'changes recorded, the second copy\'s duplicates not');
  t.equal(progress.changes, 60);
});

t.test('runReplay with a progress that shows nothing (stderr not a terminal): the readers size and count nothing; the pipeline still reports', async (t) => {
  const progress = new RecordingProgress(false);
  await runReplay([TRAIL], loadConfig({}), { env: {}, log: pino({ level: 'silent' }), stdin: Readable.from([]), progress });
  t.same(progress.calls, []);
  t.equal(progress.records, 2000);
});

t.test('localSizes: every path\'s size in the order given, more paths than stats in flight', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kce-sizes-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const paths = Array.from({ length: 40 }, (_, i) => {
    const path = join(root, `f${i}`);
    writeFileSync(path, Buffer.alloc((i * 7919) % 1000));
    return path;
  });
  t.same(await localSizes([...paths, '-', join(root, 'missing'), root]), [...paths.map((_, i) => (i * 7919) % 1000), undefined, 0, 0]);
});
