// The naive baseline: readline + JSON.parse of every line + a catalog lookup; prints its counts as JSON.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { lookup } from '../src/catalog/kms-events.ts';

interface Counts {
  records: number;
  invalid: number;
  changes: number;
  failures: number;
  byEventName: Record<string, { succeeded: number; failed: number }>;
}

async function count(path: string, counts: Counts): Promise<void> {
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line === '') continue;
    counts.records++;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      counts.invalid++;
      continue;
    }
    if (typeof record !== 'object' || record === null) {
      counts.invalid++;
      continue;
    }
    const { eventSource, eventName, errorCode } = record as { eventSource?: unknown; eventName?: unknown; errorCode?: unknown };
    if (typeof eventSource !== 'string' || typeof eventName !== 'string') continue;
    if (lookup(eventSource, eventName) === undefined) continue;
    counts.changes++;
    const entry = (counts.byEventName[eventName] ??= { succeeded: 0, failed: 0 });
    if (errorCode === undefined || errorCode === null) entry.succeeded++;
    else {
      entry.failed++;
      counts.failures++;
    }
  }
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  process.stderr.write('usage: npx node bench/naive-readline.ts FILE.jsonl[.gz]...\n');
  process.exit(2);
}
const counts: Counts = { records: 0, invalid: 0, changes: 0, failures: 0, byEventName: {} };
for (const path of paths) await count(path, counts);
process.stdout.write(JSON.stringify(counts) + '\n');
