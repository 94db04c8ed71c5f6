// The shared trail generator: the committed example trail is what it writes, and a trail's truth is what its lines say.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CATALOG, lookup } from '../../src/catalog/kms-events.ts';
import { generateTrail } from '../../trail/generate.ts';
import { Random } from '../../trail/random.ts';
import { exampleTrail, exampleTruthFile } from '../../trail/scenarios/example.ts';
import { mixedTrail } from '../../trail/scenarios/mixed.ts';
import { writeJsonLines, writeS3LogFiles } from '../../trail/writers.ts';

const ROOT = join(import.meta.dirname, '../..');

t.test('examples/trail.jsonl.gz and trail.expected.json are what `node examples/make-trail.ts` writes', async (t) => {
  const trail = generateTrail(exampleTrail);
  const lines = [...trail].map((e) => e.line);
  const committed = gunzipSync(readFileSync(join(ROOT, 'examples/trail.jsonl.gz'))).toString('utf8');
  t.equal(lines.join('\n') + '\n', committed, 'the trail, line for line');
  t.equal(exampleTruthFile(trail), readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8'), 'its ground truth');
});

t.test("a streamed trail's truth is what its lines say, re-deliveries included", async (t) => {
  const spec = mixedTrail(3, 6000);
  const trail = generateTrail({ ...spec, mix: { ...spec.mix, duplicates: 0.01 } });
  const entries = [...trail];
  const truth = trail.truth();
  const seen = new Map<string, number>();
  const succeeded = new Map<string, number>();
  const names = new Set<string>();
  let failed = 0;
  let lastTime = 0;
  const distances: number[] = [];
  for (const e of entries) {
    const r = JSON.parse(e.line) as { eventID: string; eventSource: string; eventName: string; errorCode?: string; eventTime: string };
    const first = seen.get(r.eventID);
    if (first !== undefined) {
      distances.push(seen.size - 1 - first);
      continue;
    }
    seen.set(r.eventID, seen.size);
    // Originals come in time order; only copies arrive late.
    if (Date.parse(r.eventTime) < lastTime) t.fail(`out of order at ${seen.size}`);
    lastTime = Date.parse(r.eventTime);
    if (lookup(r.eventSource, r.eventName) === undefined) continue;
    names.add(r.eventName);
    if (r.errorCode === undefined) succeeded.set(r.eventName, (succeeded.get(r.eventName) ?? 0) + 1);
    else failed++;
  }
  t.equal(entries.length, 6000, 'the number of records asked for');
  t.equal(truth.records, 6000);
  t.equal(truth.uniqueEventIds, seen.size);
  t.ok(truth.duplicateRecords > 0 && distances.length === truth.duplicateRecords, `${truth.duplicateRecords} copies`);
  t.ok(distances.every((d) => d >= 1 && d <= 44), 'each 1 to 44 records after its original');
  t.same(truth.successfulChanges.byEventName, Object.fromEntries([...succeeded].sort(([a], [b]) => a.localeCompare(b))), 'successful changes by event name');
  t.equal(truth.failedChanges.total, failed, 'failed changes');
  t.same([...names].sort(), CATALOG.map((e) => e.eventName).sort(), 'every catalog event, walked first');
  t.same(
    [...generateTrail(mixedTrail(3, 200))].map((e) => e.line),
    [...generateTrail(mixedTrail(3, 200))].map((e) => e.line),
    'a seed gives the same records',
  );
});

t.test('JSON Lines and S3 log files hold the same records, gzipped or not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-trail-'));
  const jsonl = await writeJsonLines(generateTrail(mixedTrail(5, 2500)), join(dir, 'trail.jsonl'), { gzip: false });
  const trail = generateTrail(mixedTrail(5, 2500));
  const s3 = await writeS3LogFiles(trail, join(dir, 's3'), { gzip: true, perFile: 1000, organisationId: trail.organisation.id, names: new Random(5).stream('names') });
  t.equal(s3.files.length, 3);
  t.match(s3.files[0], /^AWSLogs\/o-[0-9a-f]{10}\/\d{12}\/CloudTrail\/[a-z0-9-]+\/2024\/05\/01\/\d{12}_CloudTrail_[a-z0-9-]+_20240501T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$/);
  const fromS3 = s3.files.flatMap((f) => (JSON.parse(gunzipSync(readFileSync(join(dir, 's3', f))).toString('utf8')) as { Records: unknown[] }).Records.map((r) => JSON.stringify(r)));
  t.same(fromS3, readFileSync(join(dir, 'trail.jsonl'), 'utf8').trimEnd().split('\n'));
  t.equal(jsonl.bytes, jsonl.diskBytes);
  t.ok(s3.diskBytes < s3.bytes, 'gzipped');
  t.equal(readdirSync(dir).length, 2);
});
