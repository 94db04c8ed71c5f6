// replayFiles and the replay source over good files, a missing file, a directory, a truncated gzip and stdin: records in order, each failure after what was read before it.
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { InputError } from '../../src/errors.ts';
import type { RawRecord } from '../../src/record-batch.ts';
import { replayFiles, ReplaySource } from '../../src/sources/replay-files.ts';
import { DISABLE_KEY, cloudTrailRecord } from '../support/cloudtrail-record.ts';
import { lines } from '../support/exposition.ts';
import { inProcessService, until } from '../support/in-process-service.ts';
import { LEVEL } from '../support/log-lines.ts';

const T0 = Date.parse('2026-11-20T09:00:00Z');
const OPTIONS = { maxRecordBytes: 1024 * 1024, maxDocumentBytes: 64 * 1024 * 1024 };

const jsonl = (ids: readonly string[]) => Buffer.from(ids.map((id) => `${cloudTrailRecord('DisableKey', id, T0)}\n`).join(''));

interface Inputs {
  readonly good: string;
  readonly missing: string;
  readonly dir: string;
  readonly truncated: string;
}

/** e1, e2 in a JSON Lines file; e3..e5 in a gzip file that lost its 8-byte trailer (a copy cut short). */
function inputs(t: Test): Inputs {
  const root = mkdtempSync(join(tmpdir(), 'kce-replay-unit-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const good = join(root, 'good.jsonl');
  writeFileSync(good, jsonl(['e1', 'e2']));
  const dir = join(root, 'a-directory');
  mkdirSync(dir);
  const gzip = gzipSync(jsonl(['e3', 'e4', 'e5']));
  const truncated = join(root, 'cut.jsonl.gz');
  writeFileSync(truncated, gzip.subarray(0, gzip.length - 8));
  return { good, missing: join(root, 'missing.jsonl'), dir, truncated };
}

function eventId(record: RawRecord): string {
  return String((typeof record === 'string' ? (JSON.parse(record) as { eventID: unknown }) : (record as { eventID: unknown })).eventID);
}

/** What replayFiles gives, in order: each record's eventID, each invalid record's reason, and each error's message where it was reported. */
async function replayed(paths: readonly string[], stdin: Readable): Promise<string[]> {
  const seen: string[] = [];
  for await (const batch of replayFiles(paths, { stdin, ...OPTIONS }, (error: InputError) => seen.push(`error: ${error.message}`))) {
    seen.push(...batch.records.map(eventId), ...batch.invalid.map((invalid) => `invalid: ${invalid.reason} (${invalid.detail})`));
  }
  return seen;
}

t.test('replayFiles: every record of every path in order; each unreadable path reported after the records read from it, and the next path goes on', async (t) => {
  const { good, missing, dir, truncated } = inputs(t);
  const stdin = Readable.from([jsonl(['e6'])]);
  t.same(await replayed([good, missing, dir, truncated, '-'], stdin), [
    'e1',
    'e2',
    `error: ${missing}: no such file`,
    `error: ${dir}: is a directory`,
    'e3',
    'e4',
    'e5',
    // What the cut lost is one invalid record, and the path is reported unreadable.
    'invalid: truncated (gzip stream is truncated)',
    `error: ${truncated}: gzip stream is truncated`,
    'e6',
  ]);
});

t.test('replayFiles: stdin that fails is reported as stdin, after what it gave', async (t) => {
  const stdin = Readable.from(
    (async function* () {
      yield jsonl(['e1']);
      throw Object.assign(new Error('read EIO'), { code: 'EIO' });
    })(),
  );
  t.same(await replayed(['-'], stdin), ['e1', 'error: stdin: read EIO']);
});

t.test('the replay source under serve: reads its paths once, counts every failure, then serves what it counted', async (t) => {
  const { good, missing, dir, truncated } = inputs(t);
  const stdin = new PassThrough();
  const running = await inProcessService(t, { source: 'replay', replay: [good, missing, dir, truncated, '-'].join(',') }, { stdin, now: () => T0 + 60_000 });
  const replay = running.source('replay', ReplaySource);
  await until(() => running.logs.lines().some((line) => line['source'] === 'replay' && String(line.msg).startsWith(truncated)), 'the files before stdin');
  t.same(await running.ready(), { status: 503, body: { status: 'not ready', sources: { state: { ready: true, detail: 'in memory (no checkpoint): a restart starts from the look-back' }, replay: { ready: false, detail: 'reading 5 path(s)' } } } }, 'still reading stdin');

  // A bad record inside good input is counted invalid and skipped; the rest of the input is read.
  stdin.end(Buffer.concat([jsonl(['e6']), Buffer.from('{"eventVersion":"1.09","eventSource":"kms.amazonaws.com","eventName":"DisableKey","eventID":\n'), jsonl(['e7'])]));
  await until(() => replay.status().ready, 'the end of stdin');
  t.same(replay.status(), { ready: true, detail: 'read 2 of 5 path(s); serving its metrics until stopped' });
  t.equal((await running.ready()).status, 200);
  const body = await running.scrape();
  t.same(lines(body, 'kms_config_changes_total'), [`${DISABLE_KEY} 7`]);
  t.same(lines(body, 'kms_exporter_records_total{source="replay"'), [
    'kms_exporter_records_total{source="replay",result="matched"} 7',
    'kms_exporter_records_total{source="replay",result="ignored"} 0',
    'kms_exporter_records_total{source="replay",result="invalid"} 2',
    'kms_exporter_records_total{source="replay",result="duplicate"} 0',
  ]);
  t.same(lines(body, 'kms_exporter_invalid_records_total{source="replay"').filter((line) => !line.endsWith(' 0')), [
    'kms_exporter_invalid_records_total{source="replay",reason="malformed_json"} 1',
    'kms_exporter_invalid_records_total{source="replay",reason="truncated"} 1',
  ], 'the broken line in stdin, and the tail lost from the cut file');
  t.same(lines(body, 'kms_exporter_source_errors_total{source="replay"'), ['kms_exporter_source_errors_total{source="replay",error="unreadable_input"} 3', 'kms_exporter_source_errors_total{source="replay",error="commit_failed"} 0']);
  t.same(
    running.logs.lines().filter((line) => line['source'] === 'replay' && line['error'] !== undefined).map((line) => [line.level, line['error'], line.msg]),
    [
      [LEVEL.warn, 'unreadable_input', `${missing}: no such file`],
      [LEVEL.warn, 'unreadable_input', `${dir}: is a directory`],
      [LEVEL.warn, 'unreadable_input', `${truncated}: gzip stream is truncated`],
    ],
  );
});
