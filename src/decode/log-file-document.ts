// A whole CloudTrail S3 log file in CloudTrail's own compact form, cut into its records at disk speed.
//
// CloudTrail writes `{"Records":[{"eventVersion":...},{"eventVersion":...}]}`: no white
// space, every record opening with its `eventVersion` key. The bytes `},{"eventVersion"`
// can only be structure (inside a JSON string a quote is escaped), so a search for them
// finds each record's end and the next one's start without walking the JSON: a few
// searches per record where the exact scanner makes one per string.
//
// That is a cut, not a proof: an object whose first key is `eventVersion` nested in an
// array inside a record would be cut there too. Nothing is lost to it: every candidate
// change is parsed here, and a cut in the wrong place never parses (it leaves a bracket
// open or closes one too many), so any doubt sends the whole document back to the exact
// scanner. What the fast cut cannot tell apart is only how many non-change elements a
// hand-made file holds; CloudTrail's own files have one record per cut.

import type { RawRecord } from '../record-batch.ts';
import { EVENT_NAME_KEY_LENGTH, findEventNameKey, keyNamesCandidate, mayBeChangeText } from './prefilter.ts';

const HEAD = Buffer.from('{"Records":[', 'latin1');
const RECORD_START = Buffer.from('{"eventVersion"', 'latin1');
/** A record's closing brace, the comma, and the next record's opening. */
const CUT = Buffer.from('},{"eventVersion"', 'latin1');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const NEWLINE = 0x0a;
const RBRACE = 0x7d;
const RBRACKET = 0x5d;

export interface FramedLogFile {
  /** The candidate changes, parsed. */
  readonly records: RawRecord[];
  /** Records ruled out on their bytes. */
  readonly skipped: number;
}

function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  if (at + prefix.length > buf.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** A candidate's value when it parses to an object, else undefined (the cut is in doubt). */
function parseObject(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The records of bytes [start, end) of `buf` when they are one log file in CloudTrail's
 * own form (a byte-order mark and white space around it allowed); undefined when they are anything else or
 * when a cut is in doubt, for the exact scanner to read.
 */
export function frameLogFile(buf: Buffer, start: number, end: number, maxRecordBytes: number): FramedLogFile | undefined {
  if (startsWith(buf, start, BOM)) start += BOM.length;
  while (start < end && isSpace(buf[start])) start++;
  while (end > start && isSpace(buf[end - 1])) end--;
  // A line break inside is not CloudTrail's form (and a damaged file's telltale, which the exact scanner reports).
  const newline = buf.indexOf(NEWLINE, start);
  if (newline !== -1 && newline < end) return undefined;
  if (!startsWith(buf, start, HEAD) || buf[end - 1] !== RBRACE || buf[end - 2] !== RBRACKET) return undefined;
  const recordsEnd = end - 2;
  let at = start + HEAD.length;
  if (at === recordsEnd) return { records: [], skipped: 0 };
  if (!startsWith(buf, at, RECORD_START)) return undefined;
  const records: RawRecord[] = [];
  let skipped = 0;
  // One forward walk over the `"eventName"` keys, in step with the cuts.
  let key = findEventNameKey(buf, at);
  while (at < recordsEnd) {
    const cut = buf.indexOf(CUT, at + 1);
    const recordEnd = cut === -1 || cut >= recordsEnd ? recordsEnd : cut + 1;
    if (buf[recordEnd - 1] !== RBRACE || recordEnd - at > maxRecordBytes) return undefined;
    let candidate = false;
    while (key !== -1 && key < recordEnd) {
      if (!candidate && keyNamesCandidate(buf, key, recordEnd)) candidate = true;
      key = findEventNameKey(buf, key + EVENT_NAME_KEY_LENGTH);
    }
    if (candidate) {
      const text = buf.toString('utf8', at, recordEnd);
      const value = parseObject(text);
      if (value === undefined) return undefined;
      // The same judgement the pipeline makes of a record that arrives as text.
      if (mayBeChangeText(text)) records.push(value);
      else skipped++;
    } else {
      skipped++;
    }
    at = recordEnd + 1;
  }
  return { records, skipped };
}
