// Frames a byte stream (JSON Lines, CloudTrail S3 log files, subscription payloads; plain or gzip) into record batches.
//
// Replay speed lives here. A JSON Lines trail is split on newlines and each line is
// judged on raw bytes by the prefilter; only candidates become strings and reach
// JSON.parse. Anything else (pretty-printed JSON, concatenated documents, S3 log files)
// goes through a byte-level JSON scanner that yields one value at a time, so a large
// file is never held whole: an S3 file's Records array is cut into its records.

import { createGunzip, gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import type { InvalidReason, InvalidRecord, RawRecord, RecordBatch } from '../record-batch.ts';
import { jsonErrorDetail } from './json-error.ts';
import { unpackDocument } from './cloudtrail-document.ts';
import { frameLogFile } from './log-file-document.ts';
import { EVENT_NAME_KEY_LENGTH, findEventNameKey, keyNamesCandidate, mayBeChangeBytes } from './prefilter.ts';

export interface RecordStreamOptions {
  /** A record (a line, or one element of an S3 file) larger than this is invalid. */
  readonly maxRecordBytes: number;
  /** A whole document other than an S3 file (a subscription payload, an array) larger than this is invalid. */
  readonly maxDocumentBytes: number;
  /**
   * The input ends by itself (a file, an S3 object), so a small one may be read whole before
   * anything is decoded. Not for a pipe: it may stay open, and what it gave must count now.
   */
  readonly ends?: boolean;
}

export const DEFAULT_RECORD_STREAM_OPTIONS: RecordStreamOptions = {
  maxRecordBytes: 1024 * 1024,
  maxDocumentBytes: 64 * 1024 * 1024,
};

/** The input ended early or could not be decoded; batches before it were delivered. */
export class InputStreamError extends Error {
  override readonly name = 'InputStreamError';
  /** The invalid record this fault counts (what was lost with it), or none when no record was lost (input that is not CloudTrail at all). */
  readonly invalid: InvalidReason | undefined;

  constructor(message: string, invalid: InvalidReason | undefined) {
    super(message);
    this.invalid = invalid;
  }
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
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
      this.invalid.push({ reason: 'malformed_json', detail: `${where}: ${jsonErrorDetail(error)}` });
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
 * inside an S3 log file (`{"Records":[...]}`) or a top-level array it yields each
 * element as it completes, so neither is ever held whole.
 */
class DocumentFramer {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Depth of the elements yielded one by one: 2 in an S3 file, 1 in a top-level array, 0 for a document read whole. */
  private elementDepth = 0;
  /** Inside a scalar where an element should be (counted once, when it began). */
  private scalar = false;
  /** A document's first bytes, too few to tell its envelope, kept to be read with the next chunk. */
  private stash: Buffer | undefined;
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

  push(input: Buffer, final = false): void {
    let chunk = input;
    if (this.stash !== undefined) {
      chunk = Buffer.concat([this.stash, input]);
      this.stash = undefined;
    }
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
      const atElement = this.elementDepth !== 0 && depth === this.elementDepth;
      if (b === QUOTE) {
        if (depth === 0) this.openGarbage();
        else if (atElement) this.notAnObject();
        this.scalar = false;
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
        this.scalar = false;
        if (depth === 0) {
          if (b === LBRACE && !final && n - i < ENVELOPE_BYTES) {
            // The envelope is judged on the same bytes however the input was cut.
            this.stash = Buffer.from(chunk.subarray(i));
            this.depth = 0;
            this.inString = false;
            this.escaped = false;
            return;
          }
          this.closeGarbage();
          this.documents++;
          this.elementDepth = b === LBRACKET ? 1 : looksLikeS3(chunk, i) ? 2 : 0;
          if (this.elementDepth === 0) {
            valueStart = i;
            this.collecting = true;
          }
        } else if (atElement) {
          valueStart = i;
          this.collecting = true;
        }
        depth++;
      } else if (b === RBRACE || b === RBRACKET) {
        this.scalar = false;
        if (depth === 0) {
          this.openGarbage();
          continue;
        }
        depth--;
        if (depth === this.elementDepth) {
          if (this.collecting) this.finishValue(chunk, valueStart, i + 1);
          valueStart = -1;
        }
        if (depth === 0) this.elementDepth = 0;
      } else if (depth === 0) {
        if (!isSpace(b)) this.openGarbage();
      } else if (b === NEWLINE && depth > this.elementDepth) {
        // A record at the start of a line inside an unfinished value: no serializer writes
        // that (nested values are indented or on one line), a damaged one does. The value
        // is lost, not the rest of the input.
        if (!final && n - i <= RECORD_PREFIX.length) {
          if (this.collecting && valueStart >= 0) this.hold(chunk, valueStart, i);
          this.stash = Buffer.from(chunk.subarray(i));
          this.depth = depth;
          this.inString = false;
          this.escaped = false;
          return;
        }
        if (chunk[i + 1] === LBRACE && startsWithRecordPrefix(chunk, i + 1)) {
          this.out.invalidRecord({ reason: 'truncated', detail: `document ${this.documents}: a value cut short by a record at the start of a line` });
          this.partial.reset();
          this.collecting = false;
          valueStart = -1;
          depth = 0;
          this.elementDepth = 0;
          this.scalar = false;
        }
      } else if (atElement) {
        // A scalar where a record should be: counted once, however many chunks it spans.
        if (isSpace(b) || b === COMMA) this.scalar = false;
        else if (!this.scalar) {
          this.scalar = true;
          this.notAnObject();
        }
      }
    }
    this.depth = depth;
    this.inString = false;
    this.escaped = false;
    if (this.collecting && valueStart >= 0) this.hold(chunk, valueStart, n);
  }

  end(): void {
    if (this.stash !== undefined) {
      const stash = this.stash;
      this.stash = undefined;
      this.push(stash, true);
    }
    this.closeGarbage();
    if (this.depth > 0 || this.inString) {
      this.out.invalidRecord({ reason: 'truncated', detail: `document ${this.documents}: input ended inside a JSON value` });
    }
    this.partial.reset();
    this.collecting = false;
  }

  private limit(): number {
    return this.elementDepth !== 0 ? this.options.maxRecordBytes : this.options.maxDocumentBytes;
  }

  private hold(chunk: Buffer, start: number, end: number): void {
    this.partial.hold(chunk, start, end, this.limit());
  }

  private finishValue(chunk: Buffer, start: number, end: number): void {
    this.collecting = false;
    const whole = this.partial.finish(chunk, start, end, this.limit());
    if (whole === undefined) {
      this.out.invalidRecord({ reason: 'too_large', detail: `document ${this.documents}: a value larger than ${this.limit()} bytes` });
    } else if (this.elementDepth !== 0) {
      this.out.recordBytes(whole.buf, whole.start, whole.end);
    } else {
      this.out.documentText(whole.buf.toString('utf8', whole.start, whole.end), `document ${this.documents}`);
    }
  }

  private notAnObject(): void {
    const where = this.elementDepth === 2 ? 'a Records element' : 'an array element';
    this.out.invalidRecord({ reason: 'not_an_object', detail: `document ${this.documents}: ${where} is not an object` });
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

/** The opening bytes of a document decide its envelope; this many are plenty for the key. */
const ENVELOPE_BYTES = 64;

function looksLikeS3(buf: Buffer, at: number): boolean {
  return S3_DOCUMENT.test(buf.toString('latin1', at, Math.min(buf.length, at + ENVELOPE_BYTES)));
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

/** Input that is no JSON text: a control byte JSON never holds, before anything that opens a document. */
function binaryBytes(window: Buffer): boolean {
  const first = window[0];
  if (first === LBRACE || first === LBRACKET) return false;
  for (const byte of window) if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return true;
  return false;
}

/** What the first bytes say the input is: a framer for it, `binary` (not CloudTrail at all), or undefined (more bytes needed). */
type FramerChoice = Framer | 'binary' | undefined;

/**
 * Chooses the framer from the first bytes: JSON Lines when one of the first lines is a
 * complete JSON object (so a damaged first line does not turn a whole trail into one
 * broken document), the document scanner for S3 log files, arrays and pretty-printed
 * JSON. `head` starts at the first byte that is not a byte-order mark or white space.
 * The choice reads only the first {@link DETECT_BYTES}, so it never depends on how the
 * input was cut into chunks: it waits until it has them all, or the input ended.
 */
function chooseFramer(head: Buffer, ended: boolean, out: BatchBuilder, options: RecordStreamOptions): FramerChoice {
  if (head.length === 0) return ended ? new LineFramer(out, options) : undefined;
  const window = head.subarray(0, DETECT_BYTES);
  // Everything there will ever be of the window is here; and whether the input ends with it.
  const whole = window.length === DETECT_BYTES || ended;
  const endsInWindow = ended && head.length <= DETECT_BYTES;
  if (binaryBytes(window)) return 'binary';
  if (looksLikeS3(window, 0)) return new DocumentFramer(out, options);
  if (window[0] !== LBRACE && window[0] !== LBRACKET && !whole) return undefined;
  let start = 0;
  let lines = 0;
  while (lines < DETECT_LINES) {
    const newline = window.indexOf(NEWLINE, start);
    // A line the window cuts short cannot be judged.
    if (newline === -1 && !endsInWindow) return whole ? new DocumentFramer(out, options) : undefined;
    const line = window.toString('utf8', start, newline === -1 ? window.length : newline).trim();
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
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const source = Readable.from(copies(), { highWaterMark: 1 });
  // pipe() does not forward a failing read (a connection dropped mid-body): without this it is an uncaught error.
  let readFailure: { readonly error: unknown } | undefined;
  source.once('error', (error) => {
    readFailure = { error };
    // What came before the failure is inflated and framed, then the failure is the reader's to name.
    gunzip.end();
  });
  const inflated = source.pipe(gunzip);
  try {
    for await (const chunk of inflated) yield chunk as Buffer;
    if (readFailure !== undefined) throw readFailure.error;
  } catch (error) {
    // The input's own failure, as the reader reports it (a file's errno, a connection's reset), not as bad gzip.
    if (readFailure !== undefined) throw readFailure.error;
    if ((error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') throw new InputStreamError('gzip stream is truncated', 'truncated');
    throw new InputStreamError(`gzip stream is corrupt (${(error as Error).message})`, 'bad_gzip');
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The bytes before the format is chosen: a byte-order mark at the very start is dropped,
 * and so is the white space before the first byte that is not white space, as it comes
 * (so a megabyte of blank lines costs one pass, not one pass per read).
 */
class Head {
  private readonly parts: Buffer[] = [];
  private bytes = 0;
  /** The stream's first bytes while they may still be a byte-order mark. */
  private lead: Buffer | undefined = Buffer.alloc(0);

  /** Takes a chunk (copying what it keeps); the head so far, or undefined while it holds nothing but what is dropped. */
  add(chunk: Buffer): Buffer | undefined {
    let bytes = chunk;
    if (this.lead !== undefined) {
      bytes = this.lead.length === 0 ? chunk : Buffer.concat([this.lead, chunk]);
      if (bytes.length < BOM.length && BOM.subarray(0, bytes.length).equals(bytes)) {
        this.lead = Buffer.from(bytes);
        return undefined;
      }
      this.lead = undefined;
      if (bytes.subarray(0, BOM.length).equals(BOM)) bytes = bytes.subarray(BOM.length);
    }
    let start = 0;
    if (this.bytes === 0) while (start < bytes.length && isSpace(bytes[start])) start++;
    if (start === bytes.length) return undefined;
    this.parts.push(Buffer.from(bytes.subarray(start)));
    this.bytes += bytes.length - start;
    return this.joined();
  }

  /** What is held at the end of the input: a lone start of a byte-order mark is data. */
  finish(): Buffer {
    if (this.lead !== undefined && this.lead.length > 0) {
      const lead = this.lead;
      this.lead = undefined;
      return this.add(lead) ?? Buffer.alloc(0);
    }
    return this.joined();
  }

  private joined(): Buffer {
    if (this.parts.length > 1) this.parts.splice(0, this.parts.length, Buffer.concat(this.parts, this.bytes));
    return this.parts[0] ?? Buffer.alloc(0);
  }
}

const BINARY_HEAD_BYTES = 8;

function notCloudTrail(head: Buffer): InputStreamError {
  const start = [...head.subarray(0, BINARY_HEAD_BYTES)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return new InputStreamError(`not CloudTrail: binary data (starting ${start}), not JSON Lines, a CloudTrail log file or a CloudWatch Logs subscription payload`, undefined);
}

/** An input this small (as it comes, gzip or not) is read whole before it is decoded. */
const WHOLE_INPUT_BYTES = 4 * 1024 * 1024;
/** ...and inflated at once when it inflates to at most this much; else it is streamed like a large one. */
const WHOLE_INFLATED_BYTES = 32 * 1024 * 1024;
/** The pieces an input held whole is framed in: one batch each, as if read from a file. */
const WHOLE_SLICE_BYTES = 1024 * 1024;

function* slices(buf: Buffer): Generator<Buffer> {
  for (let at = 0; at < buf.length; at += WHOLE_SLICE_BYTES) yield buf.subarray(at, at + WHOLE_SLICE_BYTES);
}

/** Chunks held or read synchronously, as the async input the decoder takes. */
export async function* fromIterable(chunks: Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* chunks;
}

/** The held chunks, then the rest of the input (the same iterator, so nothing is read twice). */
async function* heldThenRest(held: readonly Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* held;
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
}

/** The held chunks, then the read failure that ended the input. */
async function* heldThenFailure(held: readonly Buffer[], failure: unknown): AsyncGenerator<Buffer> {
  yield* held;
  throw failure;
}

/** A whole gzip input inflated in one call (all its members), or undefined when it is damaged or too large: the stream then reads it and says how. */
function inflateWhole(buf: Buffer, limit: number): Buffer | undefined {
  // The trailer's size (of the last member, modulo 2^32) sizes the output: one buffer instead of 16 KiB pieces joined at the end.
  const size = buf.length >= 18 ? buf.readUInt32LE(buf.length - 4) : 0;
  const chunkSize = Math.min(limit, Math.max(64 * 1024, size + 64));
  try {
    return gunzipSync(buf, { maxOutputLength: limit, chunkSize });
  } catch {
    return undefined;
  }
}

function isGzip(buf: Buffer): boolean {
  return buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1];
}

/**
 * Decodes a byte stream into record batches, one per input chunk. Bad records are
 * reported in the batches; a stream that cannot be read to its end throws
 * {@link InputStreamError} after every record before the fault has been yielded.
 * The records and the invalid ones are a function of the bytes alone, never of how
 * they were cut into chunks.
 *
 * A small input that ends by itself (an S3 log file is a few hundred kilobytes of gzip) is read whole and
 * inflated in one call, and a log file in CloudTrail's own form is cut by the fast framer
 * ({@link frameLogFile}); anything else, or anything in doubt, takes the streaming path,
 * which decides every byte the same way.
 */
export async function* decodeRecordStream(input: AsyncIterable<Buffer>, options: RecordStreamOptions = DEFAULT_RECORD_STREAM_OPTIONS): AsyncGenerator<RecordBatch> {
  if (options.ends !== true) {
    yield* decodeStreaming(input, options);
    return;
  }
  const iterator = input[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let bytes = 0;
  let ended = false;
  try {
    while (bytes <= WHOLE_INPUT_BYTES) {
      const next = await iterator.next();
      if (next.done === true) {
        ended = true;
        break;
      }
      // The reader may reuse its buffer once we pull again.
      held.push(Buffer.from(next.value));
      bytes += next.value.length;
    }
  } catch (failure) {
    yield* decodeStreaming(heldThenFailure(held, failure), options);
    return;
  }
  if (!ended) {
    yield* decodeStreaming(heldThenRest(held, iterator), options);
    return;
  }
  const whole = held.length === 1 ? held[0]! : Buffer.concat(held, bytes);
  const inflated = isGzip(whole) ? inflateWhole(whole, Math.min(WHOLE_INFLATED_BYTES, options.maxDocumentBytes)) : whole;
  if (inflated === undefined) {
    yield* decodeStreaming(fromIterable(slices(whole)), options);
    return;
  }
  // Only what a gzip stream gave with its checksum verified: the bytes as their writer wrote them. CloudTrail writes
  // every log file compact and gzipped; a plain file may have been edited by hand, and the exact scanner reads it.
  const framed = inflated === whole ? undefined : frameLogFile(inflated, 0, inflated.length, options.maxRecordBytes);
  if (framed !== undefined) {
    if (framed.records.length > 0 || framed.skipped > 0) yield { records: framed.records, skipped: framed.skipped, invalid: [] };
    return;
  }
  yield* frameStream(fromIterable(slices(inflated)), options);
}

/** The streaming path alone, whatever the input's size: what {@link decodeRecordStream} must agree with (its tests compare them). */
export function decodeStreaming(input: AsyncIterable<Buffer>, options: RecordStreamOptions = DEFAULT_RECORD_STREAM_OPTIONS): AsyncGenerator<RecordBatch> {
  return frameStream(inflateIfGzip(input), options);
}

/** Frames inflated bytes (see {@link decodeRecordStream}); a fault of the inflation reaches it as an {@link InputStreamError}. */
async function* frameStream(inflated: AsyncIterable<Buffer>, options: RecordStreamOptions): AsyncGenerator<RecordBatch> {
  const out = new BatchBuilder();
  let framer: Framer | undefined;
  const head = new Head();
  let failure: InputStreamError | undefined;
  // Binary input is refused naming its first 8 bytes: held until they are in, so the message does not depend on the cuts.
  let binaryHead: Buffer | undefined;
  try {
    for await (const chunk of inflated) {
      if (binaryHead !== undefined) {
        binaryHead = Buffer.concat([binaryHead, chunk]);
        if (binaryHead.length >= BINARY_HEAD_BYTES) throw notCloudTrail(binaryHead);
        continue;
      }
      if (framer === undefined) {
        const bytes = head.add(chunk);
        if (bytes === undefined) continue;
        const choice = chooseFramer(bytes, false, out, options);
        if (choice === 'binary') {
          if (bytes.length >= BINARY_HEAD_BYTES) throw notCloudTrail(bytes);
          binaryHead = Buffer.from(bytes);
          continue;
        }
        if (choice === undefined) continue;
        framer = choice;
        framer.push(bytes);
      } else {
        framer.push(chunk);
      }
      const batch = out.take();
      if (batch !== undefined) yield batch;
    }
  } catch (error) {
    if (!(error instanceof InputStreamError)) throw error;
    failure = error;
    if (failure.invalid !== undefined) out.invalidRecord({ reason: failure.invalid, detail: failure.message });
  }
  // A fault in the gzip stream still leaves what was inflated before it; binary input leaves nothing.
  if (binaryHead !== undefined) {
    if (failure === undefined || failure.invalid !== undefined) failure = notCloudTrail(binaryHead);
  } else if (framer === undefined && (failure === undefined || failure.invalid !== undefined)) {
    const bytes = head.finish();
    const choice = chooseFramer(bytes, true, out, options);
    if (choice === 'binary') failure = notCloudTrail(bytes);
    else {
      framer = choice;
      framer?.push(bytes);
    }
  }
  // After a failure the framer's unfinished tail is part of what was lost: one invalid, already counted.
  if (failure === undefined) framer?.end();
  const last = out.take();
  if (last !== undefined) yield last;
  if (failure !== undefined) throw failure;
}
