// Benchmark: how long a Prometheus scrape of /metrics takes with 1,200 change series, over real HTTP on loopback.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { CATALOG } from '../src/catalog/kms-events.ts';
import { loadConfig } from '../src/config.ts';
import { buildService } from '../src/service.ts';

const SERIES = 1200;
const SCRAPES = 300;
const ROOT = join(import.meta.dirname, '..');

// The service as it runs (a push source, so nothing polls), on loopback; the records go straight to its committer.
const config = loadConfig({ source: 'firehose', listenAddress: '127.0.0.1:0' });
const log = pino({ level: 'silent' });
const service = await buildService(config, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: 'bench' }, log });

// One record per series: 31 events x 39 account/region pairs = 1,209 series of kms_config_changes_total.
const records: string[] = [];
let n = 0;
for (let account = 0; n < SERIES; account++) {
  for (const entry of CATALOG) {
    if (n >= SERIES) break;
    records.push(
      JSON.stringify({
        eventVersion: '1.08',
        eventTime: '2026-11-20T10:00:00Z',
        eventSource: entry.eventSource,
        eventName: entry.eventName,
        eventID: `id-${n}`,
        awsRegion: ['us-east-1', 'eu-west-1', 'ap-southeast-2'][account % 3],
        recipientAccountId: String(100000000000 + account),
        userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${100000000000 + account}:assumed-role/ops/alice` },
      }),
    );
    n++;
  }
}
const address = (await service.start())!;
await service.restored;
await service.committer.deliver('bench', { records, skipped: 0, invalid: [] });

const durations: number[] = [];
let bytes = 0;
let series = 0;
for (let i = 0; i < SCRAPES + 20; i++) {
  const start = performance.now();
  const response = await fetch(`${address}/metrics`);
  const body = await response.text();
  const elapsed = performance.now() - start;
  if (i >= 20) durations.push(elapsed); // the first scrapes warm the JIT
  bytes = body.length;
  series = body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}
await service.stop();

durations.sort((a, b) => a - b);
const pick = (q: number) => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]!;
const row = `| GET /metrics, ${series} samples (${n} change series), ${(bytes / 1024).toFixed(0)} KiB | ${pick(0.5).toFixed(2)} ms | ${pick(0.99).toFixed(2)} ms | ${pick(1).toFixed(2)} ms | < 5 ms: ${pick(0.5) < 5 ? 'met' : 'missed'} |`;
const table = ['| scrape | p50 | p99 | max | target |', '|---|--:|--:|--:|---|', row].join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/metrics-render.md'), `${table}\n`);
