// Every benchmark, one after the other, each in its own process (so one's heap never skews another's
// memory figures). `npm run bench -- --reps 5` reaches the replay harness through here.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
// Compiled (dist/bench/all.js) runs the compiled siblings; from source (bench/all.ts) the sources.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const SOURCE_BENCH = EXT === '.ts' ? HERE : join(HERE, '../../bench');

interface Bench {
  readonly name: string;
  readonly script: string;
  /** Whether the remaining command line is handed to it (the replay harness's --reps, --only, --suite...). */
  readonly takesArgs: boolean;
}

const BENCHES: readonly Bench[] = [
  { name: 'replay', script: join(HERE, `run${EXT}`), takesArgs: true },
  { name: 'metrics-render', script: join(HERE, `metrics-render${EXT}`), takesArgs: false },
  { name: 'firehose', script: join(HERE, `firehose${EXT}`), takesArgs: false },
  { name: 'push-hostile', script: join(HERE, `push-hostile${EXT}`), takesArgs: false },
  { name: 'state-memory', script: join(HERE, `state-memory${EXT}`), takesArgs: false },
  // Always from source: it imports the CloudWatch Logs fake from test/, which is not compiled.
  { name: 'aws-sources', script: join(SOURCE_BENCH, 'aws-sources.ts'), takesArgs: false },
];

const USAGE = `usage: npm run bench -- [--bench NAME]... [harness options]
benches: ${BENCHES.map((b) => b.name).join(', ')} (default: all)
harness options (--reps N, --only SUBSTRING, --suite NAME, --records N, ...) go to the replay harness; see bench/run.ts --help.
Each other bench takes its own options when run alone, e.g. npx node bench/state-memory.ts --help.`;

const { values, tokens } = parseArgs({ strict: false, tokens: true, options: { bench: { type: 'string', multiple: true }, help: { type: 'boolean' } } });
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const wanted = (values.bench ?? []).filter((name): name is string => typeof name === 'string');
const unknown = wanted.filter((name) => !BENCHES.some((b) => b.name === name));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown --bench ${unknown.join(', ')}\n${USAGE}\n`);
  process.exit(2);
}
// Everything but --bench and --help, in the order given, for the harness.
const rest = process.argv.slice(2);
const dropped = new Set<number>();
for (const token of tokens) {
  if (token.kind !== 'option' || (token.name !== 'bench' && token.name !== 'help')) continue;
  dropped.add(token.index);
  if (token.value !== undefined && !token.inlineValue) dropped.add(token.index + 1);
}
const harnessArgs = rest.filter((_, index) => !dropped.has(index));

let failed = 0;
for (const bench of BENCHES.filter((b) => wanted.length === 0 || wanted.includes(b.name))) {
  const args = bench.takesArgs ? harnessArgs : [];
  process.stderr.write(`[bench] ${bench.name}: ${[bench.script, ...args].join(' ')}\n`);
  const result = spawnSync(process.execPath, [bench.script, ...args], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    process.stderr.write(`[bench] ${bench.name} failed (${result.status ?? result.signal})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
