// Preloaded into the product (`--import`), writes its memory by V8 space to stderr once a second: the view behind the state-memory profile notes.
//
//   node dist/bench/state-memory.js --only serve-deletions --node-flags=--import=$PWD/dist/bench/memory-probe.js
//   grep PROBE bench/results/state-memory-serve-deletions.log
//
// MiB, as process.memoryUsage() and v8.getHeapSpaceStatistics() see them: size (committed) and used.
import { writeSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const MIB = 2 ** 20;
const started = Date.now();
const mib = (bytes: number) => Math.round(bytes / MIB);

setInterval(() => {
  const memory = process.memoryUsage();
  const spaces = getHeapSpaceStatistics()
    .filter((space) => space.space_size > 0)
    .map((space) => `${space.space_name.replace(/_space$/, '')}=${mib(space.space_size)}/${mib(space.space_used_size)}`)
    .join(' ');
  // Synchronous, to fd 2: the probe must not add buffered output of its own to what it measures.
  writeSync(2, `PROBE ${Date.now() - started} ms rss=${mib(memory.rss)} heapTotal=${mib(memory.heapTotal)} heapUsed=${mib(memory.heapUsed)} external=${mib(memory.external)} arrayBuffers=${mib(memory.arrayBuffers)} ${spaces}\n`);
}, 1000).unref();
