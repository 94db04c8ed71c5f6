// Writing a trail to disk: JSON Lines, or CloudTrail S3 log files ({"Records":[...]}) named as CloudTrail names them; gzip or not.

import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzip as gzipCallback } from 'node:zlib';
import { promisify } from 'node:util';
import type { Random } from './random.ts';
import type { Entry } from './records.ts';
import { iso } from './time.ts';

const gzipAsync = promisify(gzipCallback);

export interface Written {
  /** Every file written (for S3 log files: relative to the output directory, in time order). */
  readonly files: string[];
  /** Uncompressed bytes (JSON Lines: newlines included). */
  readonly bytes: number;
  /** Bytes on disk (differs from `bytes` when gzipped). */
  readonly diskBytes: number;
}

export interface Compression {
  readonly gzip: boolean;
  /** zlib level, 6 unless given. */
  readonly level?: number;
}

const CHUNK = 1 << 20;

/** One record a line, each line ending with a newline. */
export async function writeJsonLines(records: Iterable<Entry>, path: string, compression: Compression): Promise<Written> {
  let bytes = 0;
  function* chunks(): Generator<string> {
    let chunk = '';
    for (const e of records) {
      chunk += e.line + '\n';
      if (chunk.length >= CHUNK) {
        bytes += Buffer.byteLength(chunk);
        yield chunk;
        chunk = '';
      }
    }
    bytes += Buffer.byteLength(chunk);
    if (chunk !== '') yield chunk;
  }
  await mkdir(dirname(path), { recursive: true });
  const file = createWriteStream(path, { highWaterMark: 4 << 20 });
  if (compression.gzip) {
    await pipeline(Readable.from(chunks(), { objectMode: false }), createGzip({ level: compression.level ?? 6 }), file);
  } else {
    // An explicit loop with backpressure: Readable.from would add a copy we do not need.
    for (const chunk of chunks()) if (!file.write(chunk)) await once(file, 'drain');
    file.end();
    await once(file, 'finish');
  }
  return { files: [path], bytes, diskBytes: file.bytesWritten };
}

export interface S3Layout extends Compression {
  readonly perFile: number;
  /** The organisation trail's id (o-…), the second part of every object key. */
  readonly organisationId: string;
  /** Draws the random suffix of object names: a stream of its own, so the records are the same in every format. */
  readonly names: Random;
}

const NAME_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Log files of `perFile` records each, under
 * AWSLogs/o-…/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_SUFFIX.json[.gz],
 * named after their first record.
 */
export async function writeS3LogFiles(records: Iterable<Entry>, dir: string, layout: S3Layout): Promise<Written> {
  const files: string[] = [];
  let bytes = 0;
  let diskBytes = 0;
  const inFlight = new Set<Promise<void>>();
  const madeDirs = new Set<string>();
  await mkdir(dir, { recursive: true });

  const flush = async (batch: Entry[]): Promise<void> => {
    const first = batch[0]!;
    const body = `{"Records":[${batch.map((e) => e.line).join(',')}]}`;
    bytes += Buffer.byteLength(body);
    const stamp = iso(first.time);
    const [y, m, d] = [stamp.slice(0, 4), stamp.slice(5, 7), stamp.slice(8, 10)];
    const rel =
      `AWSLogs/${layout.organisationId}/${first.account}/CloudTrail/${first.region}/${y}/${m}/${d}/` +
      `${first.account}_CloudTrail_${first.region}_${y}${m}${d}T${stamp.slice(11, 13)}${stamp.slice(14, 16)}Z_${layout.names.chars(16, NAME_ALPHABET)}.json${layout.gzip ? '.gz' : ''}`;
    files.push(rel);
    const path = join(dir, rel);
    const job = (async () => {
      if (!madeDirs.has(dirname(path))) {
        madeDirs.add(dirname(path));
        await mkdir(dirname(path), { recursive: true });
      }
      const data = layout.gzip ? await gzipAsync(body, { level: layout.level ?? 6 }) : Buffer.from(body);
      diskBytes += data.length;
      await writeFile(path, data);
    })();
    inFlight.add(job);
    const settle = (): void => void inFlight.delete(job);
    job.then(settle, settle);
    // Compression runs on the libuv pool: keep the cores busy, but bound memory.
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };

  let batch: Entry[] = [];
  for (const e of records) {
    batch.push(e);
    if (batch.length === layout.perFile) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
  await Promise.all(inFlight);
  return { files, bytes, diskBytes };
}
