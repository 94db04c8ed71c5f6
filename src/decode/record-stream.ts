// Frames a byte stream (JSON Lines, CloudTrail S3 log files, subscription payloads; plain or gzip) into record batches.
//
// Replay speed lives here. A JSON Lines trail is split on newlines and each line is
// judged on raw bytes by the prefilter; only candidates become strings and reach
// JSON.parse. Anything else (pretty-printed JSON, concatenated documents, S3 log files)
// goes through a byte-level JSON scanner that yields one value at a time, so a large
// file is never held whole: an S3 file's Records array is cut into its records.

import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import type { InvalidRecord, RawRecord, RecordBatch } from '../record-batch.ts';
import { unpackDocument } from './cloudtrail-document.ts';
import { EVENT_NAME_KEY_LENGTH, findEventNameKey, keyNamesCandidate, mayBeChangeBytes } from './prefilter.ts';

export interface RecordStreamOptions {
  /** A record (a line, or one element of an S3 file) larger than this is invalid. */
  readonly maxRecordBytes: number;
  /** A whole document other than an S3 file (a subscription payload, an array) larger than this is invalid. */
  readonly maxDocumentBytes: number;
}

export const DEFAULT_RECORD_STREAM_OPTIONS: RecordStreamOptions = {
  maxRecordBytes: 1024 * 1024,
  maxDocumentBytes: 64 * 1024 * 1024,
};

/** The input ended early or could not be decoded; batches before it were delivered. */
export class InputStreamError extends Error {
  override readonly name = 'InputStreamError';
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const GZIP_MAGIC = [0x1f, 0x8b] as const;
const RECORD_PREFIX = Buffer.from('{"eventVersion"', 'latin1');
const S3_DOCUMENT = /^\{\s*"Records"\s*:\s*\[/;
const DETECT_BYTES = 64 * 1024;

function startsWithRecordPrefix(buf: Buffer, start: number): boolean {
  let i = 0;
  while (i < RECORD_PREFIX.length && buf[start + i] === RECORD_PREFIX[i]) i++;
  return i === RECORD_PREFIX.length;
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * The position of the quote that closes a JSON string whose content starts at `from`,
 * or -1 if the chunk ends first. `escaped`: the first byte is escaped (a backslash ended
 * the previous chunk). Jumps quote to quote; a quote preceded by an odd run of
 * backslashes is content.
 */
function skipString(chunk: Buffer, from: number, escaped: boolean): number {
  let at = from;
  for (;;) {
    const quote = chunk.indexOf(QUOTE, at);
    if (quote === -1) return -1;
    let k = quote - 1;
    while (k >= from && chunk[k] === BACKSLASH) k--;
    let run = quote - 1 - k;
    if (k < from && escaped) run -= 1;
    if ((run & 1) === 0) return quote;
    at = quote + 1;
  }
}

/** Whether a string still open at the end of [from, end) leaves the next byte escaped. */
function endsEscaped(chunk: Buffer, from: number, end: number, escaped: boolean): boolean {
  let k = end - 1;
  while (k >= from && chunk[k] === BACKSLASH) k--;
  let run = end - 1 - k;
  if (k < from && escaped) run -= 1;
  return (run & 1) === 1;
}

/** Collects decoded records; one batch per input chunk keeps memory flat and batches large. */
class BatchBuilder {
  records: RawRecord[] = [];
  skipped = 0;
  invalid: InvalidRecord[] = [];

  take(): RecordBatch | undefined {
    if (this.records.length === 0 && this.skipped === 0 && this.invalid.length === 0) return undefined;
    const batch = { records: this.records, skipped: this.skipped, invalid: this.invalid };
    this.records = [];
    this.skipped = 0;
    this.invalid = [];
    return batch;
  }

  record(record: RawRecord): void {
    this.records.push(record);
  }

  invalidRecord(invalid: InvalidRecord): void {
    this.invalid.push(invalid);
  }

  /** One CloudTrail record's bytes: parsed later only if the prefilter cannot rule it out. */
  recordBytes(buf: Buffer, start: number, end: number, candidate = mayBeChangeBytes(buf, start, end)): void {
    if (candidate) this.records.push(buf.toString('utf8', start, end));
    else this.skipped++;
  }

  /** A whole JSON document of any envelope, parsed now. */
  documentText(text: string, where: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.invalid.push({ reason: 'malformed_json', detail: `${where}: ${(error as Error).message}` });
      return;
    }
    unpackDocument(value, { record: (r) => this.record(r), invalid: (i) => this.invalidRecord(i) });
  }
}

/**
 * A value split across reads: copies of its earlier pieces (the caller may reuse its
 * chunk once it returns), dropped but remembered as too large once past the limit.
 */
class PartialValue {
  private parts: Buffer[] = [];
  private bytes = 0;
  private overLimit = false;

  get pending(): boolean {
    return this.bytes > 0 || this.overLimit;
  }

  hold(chunk: Buffer, start: number, end: number, limit: number): void {
    if (this.overLimit) return;
    if (this.bytes + (end - start) > limit) {
      this.reset();
      this.overLimit = true;
      return;
    }
    this.parts.push(Buffer.from(chunk.subarray(start, end)));
    this.bytes += end - start;
  }

  /** The whole value, ending with [start, end) of `chunk`; undefined when it went over the limit. Starts afresh. */
  finish(chunk: Buffer, start: number, end: number, limit: number): { readonly buf: Buffer; readonly start: number; readonly end: number } | undefined {
    const over = this.overLimit || this.bytes + (end - start) > limit;
    let whole: { buf: Buffer; start: number; end: number } | undefined;
    if (!over) {
      if (this.parts.length === 0) whole = { buf: chunk, start, end };
      else {
        const buf = Buffer.concat([...this.parts, chunk.subarray(start, end)], this.bytes + (end - start));
        whole = { buf, start: 0, end: buf.length };
      }
    }
    this.reset();
    return whole;
  }

  reset(): void {
    this.parts = [];
    this.bytes = 0;
    this.overLimit = false;
  }
}

/** JSON Lines: one record or document per line. */
class LineFramer {
  private readonly carry = new PartialValue();
  private line = 0;
  /** Position of the next `"eventName"` key in the current chunk, or -1. */
  private key = -1;
  private readonly out: BatchBuilder;
  private readonly options: RecordStreamOptions;

  constructor(out: BatchBuilder, options: RecordStreamOptions) {
    this.out = out;
    this.options = options;
  }

  push(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    if (this.carry.pending) {
      if (newline === -1) {
        this.carry.hold(chunk, 0, chunk.length, this.options.maxRecordBytes);
        return;
      }
      this.finishCarried(chunk, 0, newline);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    // The `"eventName"` keys are found by one forward walk over the chunk, in step with the
    // newlines, so each byte is searched once whatever a line holds.
    this.key = findEventNameKey(chunk, start);
    while (newline !== -1) {
      this.handleLine(chunk, start, newline, true);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.carry.hold(chunk, start, chunk.length, this.options.maxRecordBytes);
  }

  /** Whether line [start, end) has a candidate `"eventName"`; advances the key cursor past the line. */
  private candidateInLine(chunk: Buffer, start: number, end: number): boolean {
    let key = this.key;
    while (key !== -1 && key < start) key = findEventNameKey(chunk, key + 1);
    let candidate = false;
    while (key !== -1 && key < end) {
      if (!candidate && keyNamesCandidate(chunk, key, end)) candidate = true;
      key = findEventNameKey(chunk, key + EVENT_NAME_KEY_LENGTH);
    }
    this.key = key;
    return candidate;
  }

  end(): void {
    if (this.carry.pending) this.finishCarried(Buffer.alloc(0), 0, 0);
  }

  /** The line begun in earlier chunks, ending with [start, end) of this one. */
  private finishCarried(chunk: Buffer, start: number, end: number): void {
    const whole = this.carry.finish(chunk, start, end, this.options.maxRecordBytes);
    if (whole === undefined) {
      this.line++;
      this.out.invalidRecord({ reason: 'too_large', detail: `line ${this.line}: longer than ${this.options.maxRecordBytes} bytes` });
      return;
    }
    this.handleLine(whole.buf, whole.start, whole.end);
  }

  private handleLine(buf: Buffer, start: number, end: number, inChunk = false): void {
    this.line++;
    while (start < end && isSpace(buf[start])) start++;
    while (end > start && isSpace(buf[end - 1])) end--;
    if (start === end) {
      this.line--; // blank lines are not records
      return;
    }
    if (end - start > this.options.maxRecordBytes) {
      this.out.invalidRecord({ reason: 'too_large', detail: `line ${this.line}: longer than ${this.options.maxRecordBytes} bytes` });
      return;
    }
    if (buf[end - 1] === RBRACE && end - start > RECORD_PREFIX.length && startsWithRecordPrefix(buf, start)) {
      this.out.recordBytes(buf, start, end, inChunk ? this.candidateInLine(buf, start, end) : mayBeChangeBytes(buf, start, end));
      return;
    }
    this.out.documentText(buf.toString('utf8', start, end), `line ${this.line}`);
  }
}

/**
 * Any sequence of JSON documents, pretty-printed or not. Tracks nesting byte by byte;
 * inside an S3 log file it yields each element of `Records` as it completes.
 */
class DocumentFramer {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private s3 = false;
  /** The value being assembled, from earlier chunks. */
  private readonly partial = new PartialValue();
  private collecting = false;
  private garbage = false;
  private documents = 0;
  private readonly out: BatchBuilder;
  private readonly options: RecordStreamOptions;

  constructor(out: BatchBuilder, options: RecordStreamOptions) {
    this.out = out;
    this.options = options;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let valueStart = this.collecting ? 0 : -1;
    let depth = this.depth;
    let escaped = this.escaped;
    let i = 0;
    if (this.inString) {
      i = skipString(chunk, 0, escaped);
      if (i === -1) {
        this.escaped = endsEscaped(chunk, 0, n, escaped);
        if (this.collecting) this.hold(chunk, 0, n);
        return;
      }
      escaped = false;
      i++;
    }
    for (; i < n; i++) {
      const b = chunk[i]!;
      if (b === QUOTE) {
        if (depth === 0) this.openGarbage();
        else if (depth === 2 && this.s3) this.out.invalidRecord({ reason: 'not_an_object', detail: `document ${this.documents}: a Records element is not an object` });
        // Strings are most of the bytes: jump to the closing quote.
        const close = skipString(chunk, i + 1, false);
        if (close === -1) {
          this.depth = depth;
          this.inString = true;
          this.escaped = endsEscaped(chunk, i + 1, n, false);
          if (this.collecting && valueStart >= 0) this.hold(chunk, valueStart, n);
          return;
        }
        i = close;
      } else if (b === LBRACE || b === LBRACKET) {
        if (depth === 0) {
          this.closeGarbage();
          this.documents++;
          this.s3 = b === LBRACE && this.looksLikeS3(chunk, i);
          if (!this.s3) {
            valueStart = i;
            this.collecting = true;
          }
        } else if (depth === 2 && this.s3) {
          valueStart = i;
          this.collecting = true;
        }
        depth++;
      } else if (b === RBRACE || b === RBRACKET) {
        if (depth === 0) {
          this.openGarbage();
          continue;
        }
        depth--;
        if (this.s3 ? depth === 2 : depth === 0) {
          if (this.collecting) this.finishValue(chunk, valueStart, i + 1);
          valueStart = -1;
        }
        if (depth === 0) this.s3 = false;
      } else if (depth === 0) {
        if (!isSpace(b)) this.openGarbage();
      } else if (depth === 2 && this.s3 && !isSpace(b) && b !== 0x2c) {
        // A scalar where a record should be: the scanner passes over it, counted once.
        this.out.invalidRecord({ reason: 'not_an_object', detail: `document ${this.documents}: a Records element is not an object` });
        let j = i;
        while (j < n && chunk[j] !== 0x2c && chunk[j] !== RBRACKET) j++;
        i = j - 1;
      }
    }
    this.depth = depth;
    this.inString = false;
    this.escaped = false;
    if (this.collecting && valueStart >= 0) this.hold(chunk, valueStart, n);
  }

  end(): void {
    this.closeGarbage();
    if (this.depth > 0 || this.inString) {
      this.out.invalidRecord({ reason: 'truncated', detail: `document ${this.documents}: input ended inside a JSON value` });
    }
    this.partial.reset();
    this.collecting = false;
  }

  private limit(): number {
    return this.s3 ? this.options.maxRecordBytes : this.options.maxDocumentBytes;
  }

  private hold(chunk: Buffer, start: number, end: number): void {
    this.partial.hold(chunk, start, end, this.limit());
  }

  private finishValue(chunk: Buffer, start: number, end: number): void {
    this.collecting = false;
    const whole = this.partial.finish(chunk, start, end, this.limit());
    if (whole === undefined) {
      this.out.invalidRecord({ reason: 'too_large', detail: `document ${this.documents}: a value larger than ${this.limit()} bytes` });
    } else if (this.s3) {
      this.out.recordBytes(whole.buf, whole.start, whole.end);
    } else {
      this.out.documentText(whole.buf.toString('utf8', whole.start, whole.end), `document ${this.documents}`);
    }
  }

  private looksLikeS3(chunk: Buffer, at: number): boolean {
    // The opening bytes of a document decide its envelope; 64 bytes are plenty for the key.
    return S3_DOCUMENT.test(chunk.toString('latin1', at, Math.min(chunk.length, at + 64)));
  }

  private openGarbage(): void {
    if (this.garbage) return;
    this.garbage = true;
    this.out.invalidRecord({ reason: 'malformed_json', detail: `after document ${this.documents}: bytes that are not JSON` });
  }

  private closeGarbage(): void {
    this.garbage = false;
  }
}

interface Framer {
  push(chunk: Buffer): void;
  end(): void;
}

const DETECT_LINES = 8;

function isObjectLine(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Chooses the framer from the first bytes: JSON Lines when one of the first lines is a
 * complete JSON object (so a damaged first line does not turn a whole trail into one
 * broken document), the document scanner for S3 log files and pretty-printed JSON.
 */
function chooseFramer(head: Buffer, ended: boolean, out: BatchBuilder, options: RecordStreamOptions): Framer | undefined {
  let first = 0;
  while (first < head.length && isSpace(head[first])) first++;
  if (first === head.length) return ended ? new LineFramer(out, options) : undefined;
  if (S3_DOCUMENT.test(head.toString('latin1', first, Math.min(head.length, first + 64)))) return new DocumentFramer(out, options);
  let start = first;
  let lines = 0;
  while (lines < DETECT_LINES) {
    const newline = head.indexOf(NEWLINE, start);
    if (newline === -1 && !ended) {
      // Need a complete line to judge; give up waiting once the head is large.
      return head.length >= DETECT_BYTES ? new DocumentFramer(out, options) : undefined;
    }
    const line = head.toString('utf8', start, newline === -1 ? head.length : newline).trim();
    if (line !== '') {
      lines++;
      if (isObjectLine(line)) return new LineFramer(out, options);
    }
    if (newline === -1) break;
    start = newline + 1;
  }
  return new DocumentFramer(out, options);
}

/** Detects gzip by its magic number and inflates it; concatenated gzip members are read in turn. */
async function* inflateIfGzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  let first = await iterator.next();
  while (!first.done && first.value.length < 2) {
    const kept = Buffer.from(first.value);
    const more = await iterator.next();
    first = { done: false, value: more.done ? kept : Buffer.concat([kept, more.value]) };
    if (more.done) break;
  }
  if (first.done) return;
  const head = first.value;
  const rest: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => iterator };
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    yield* rest;
  }
  if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) {
    yield* all();
    return;
  }
  // zlib works on its input after we move on, and the reader may reuse its buffer: copy.
  async function* copies(): AsyncGenerator<Buffer> {
    for await (const chunk of all()) yield Buffer.from(chunk);
  }
  const gunzip = createGunzip();
  const inflated = Readable.from(copies(), { highWaterMark: 1 }).pipe(gunzip);
  try {
    for await (const chunk of inflated) yield chunk as Buffer;
  } catch (error) {
    const message = (error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' ? 'gzip stream is truncated' : `gzip stream is corrupt (${(error as Error).message})`;
    throw new InputStreamError(message);
  }
}

/**
 * Decodes a byte stream into record batches, one per input chunk. Bad records are
 * reported in the batches; a stream that cannot be read to its end throws
 * {@link InputStreamError} after every record before the fault has been yielded.
 */
export async function* decodeRecordStream(input: AsyncIterable<Buffer>, options: RecordStreamOptions = DEFAULT_RECORD_STREAM_OPTIONS): AsyncGenerator<RecordBatch> {
  const out = new BatchBuilder();
  let framer: Framer | undefined;
  let head: Buffer[] = [];
  let headBytes = 0;
  let failure: InputStreamError | undefined;
  try {
    for await (const chunk of inflateIfGzip(input)) {
      if (framer === undefined) {
        // Kept across reads while the format is undecided, so copied.
        head.push(Buffer.from(chunk));
        headBytes += chunk.length;
        const joined = Buffer.concat(head, headBytes);
        framer = chooseFramer(joined, false, out, options);
        if (framer === undefined) continue;
        head = [];
        framer.push(joined);
      } else {
        framer.push(chunk);
      }
      const batch = out.take();
      if (batch !== undefined) yield batch;
    }
  } catch (error) {
    if (!(error instanceof InputStreamError)) throw error;
    failure = error;
    out.invalidRecord({ reason: failure.message.includes('truncated') ? 'truncated' : 'bad_gzip', detail: failure.message });
  }
  if (framer === undefined && headBytes > 0) {
    framer = chooseFramer(Buffer.concat(head, headBytes), true, out, options);
    framer?.push(Buffer.concat(head, headBytes));
  }
  // After a failure the framer's unfinished tail is part of what was lost: one invalid, already counted.
  if (failure === undefined) framer?.end();
  const last = out.take();
  if (last !== undefined) yield last;
  if (failure !== undefined) throw failure;
}
