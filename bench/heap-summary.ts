// Summarises a V8 heap snapshot by constructor (count and self size), the view the state-memory benchmark's profile notes quote.
//
//   node bench/heap-summary.ts FILE.heapsnapshot [--top 25]
//
// A snapshot holds only what is reachable (V8 collects before writing it), so this is
// the live set; RSS beyond it is garbage not collected yet, V8's spaces, code and
// native memory.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly [readonly string[], ...unknown[]] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

export interface HeapRow {
  readonly kind: string;
  readonly count: number;
  readonly bytes: number;
}

/** Self sizes grouped by constructor name (objects, closures), and by node type for the rest (strings, arrays, code...). */
export function summariseHeap(path: string): { readonly total: number; readonly rows: readonly HeapRow[] } {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt]!] ?? '?';
    const size = heap.nodes[i + sizeAt]!;
    total += size;
    // Strings are named by their content, arrays by their owner: group those by type.
    const kind = type === 'object' || type === 'closure' ? `${heap.strings[heap.nodes[i + nameAt]!]}${type === 'closure' ? ' (closure)' : ''}` : `(${type})`;
    const group = groups.get(kind) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += size;
    groups.set(kind, group);
  }
  const rows = [...groups].map(([kind, g]) => ({ kind, ...g })).sort((a, b) => b.bytes - a.bytes);
  return { total, rows };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  if (positionals.length === 0) {
    process.stderr.write('usage: npx node bench/heap-summary.ts FILE.heapsnapshot [--top N]\n');
    process.exit(1);
  }
  for (const file of positionals) {
    const { total, rows } = summariseHeap(file);
    process.stdout.write(`${file}: ${(total / 2 ** 20).toFixed(1)} MiB live\n\n| constructor | count | self MiB |\n|---|--:|--:|\n`);
    for (const row of rows.slice(0, Number(values.top))) process.stdout.write(`| ${row.kind.replaceAll('|', '\\|')} | ${row.count.toLocaleString('en-US')} | ${(row.bytes / 2 ** 20).toFixed(2)} |\n`);
    process.stdout.write('\n');
  }
}
