// Benchmark entry point: runs the named suites (replay today) and writes bench/results/<suite>.md and .json.
import { parseArgs } from 'node:util';
import { makeContext, renderMarkdown, runSuite, writeResults } from './harness.ts';
import type { Suite } from './harness.ts';
import { createReplaySuite } from './replay.ts';

// A new benchmark (Firehose push under autocannon, /metrics rendering...) is a Suite in its own file, listed here.
const SUITES: readonly Suite[] = [createReplaySuite()];

const USAGE = `usage: npx node bench/run.ts [--suite NAME]... [--reps N] [--only SUBSTRING]... [--records N] [--seed N] [--per-file N] [--regenerate] [--skip-gzip]
suites: ${SUITES.map((s) => s.name).join(', ')}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      suite: { type: 'string', multiple: true },
      reps: { type: 'string', default: '3' },
      only: { type: 'string', multiple: true },
      records: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '42' },
      'per-file': { type: 'string', default: '1000' },
      regenerate: { type: 'boolean', default: false },
      'skip-gzip': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const reps = Number(values.reps);
  if (!Number.isSafeInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got ${values.reps}`);
  for (const key of ['records', 'seed', 'per-file'] as const) {
    if (!Number.isSafeInteger(Number(values[key])) || Number(values[key]) < (key === 'seed' ? 0 : 1)) throw new Error(`--${key} must be a positive integer, got ${values[key]}`);
  }
  const wanted = values.suite ?? SUITES.map((s) => s.name);
  const unknown = wanted.filter((name) => !SUITES.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}\n${USAGE}`);

  const context = makeContext({
    records: values.records,
    seed: values.seed,
    'per-file': values['per-file'],
    regenerate: values.regenerate,
    'skip-gzip': values['skip-gzip'],
  });
  if (context.env.taskset === null) process.stderr.write('[bench] taskset not found: runs are not pinned to one core\n');
  if (context.env.gnuTime === null) process.stderr.write('[bench] GNU time not found: peak RSS is polled from /proc\n');
  for (const suite of SUITES.filter((s) => wanted.includes(s.name))) {
    const result = await runSuite(suite, context, reps, values.only ?? []);
    const written = await writeResults(result, context.resultsDir);
    process.stdout.write('\n' + renderMarkdown(result) + '\n');
    process.stderr.write(`[bench] wrote ${written.markdown} and ${written.json}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
