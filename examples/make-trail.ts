// Writes examples/trail.jsonl.gz (the demo's trail, and the ground truth of many tests) and examples/trail.expected.json.
//
//   node examples/make-trail.ts
//
// The trail is trail/scenarios/example.ts run through the shared generator (trail/generate.ts):
// seeded, with every timestamp fixed, so two runs write byte-identical files.
// test/trail/generate.test.ts fails when the committed files drift from what this writes.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateTrail } from '../trail/generate.ts';
import { exampleTrail, exampleTruthFile } from '../trail/scenarios/example.ts';
import { writeJsonLines } from '../trail/writers.ts';

const OUT_TRAIL = join(import.meta.dirname, 'trail.jsonl.gz');
const OUT_TRUTH = join(import.meta.dirname, 'trail.expected.json');

const trail = generateTrail(exampleTrail);
await writeJsonLines(trail, OUT_TRAIL, { gzip: true, level: 9 });
await writeFile(OUT_TRUTH, exampleTruthFile(trail));
const t = trail.truth();
process.stdout.write(
  `wrote ${OUT_TRAIL}: ${t.records} records (${t.matched} catalog changes, ${t.ignored} ignored, ${t.duplicateRecords} re-delivered), ${t.pendingDeletionAtEnd.length} key(s) pending deletion\n`,
);
