// Decides on raw bytes whether a CloudTrail record could be a catalog change, so only candidates are parsed.
//
// The prefilter must never reject a record the classifier would count: it answers
// "maybe" for anything it cannot rule out (escaped names, odd spacing) and only "no"
// when no `"eventName"` key in the record carries a catalog name. Every decision that
// counts is taken again by the classifier on the parsed record.

import { CATALOG_EVENT_NAMES as KMS_EVENT_NAMES } from '../catalog/kms-events.ts';
import { PIPELINE_EVENT_NAMES } from '../catalog/pipeline-events.ts';

// Both catalogs: the KMS changes and the pipeline's own configuration events.
const CATALOG_EVENT_NAMES: ReadonlySet<string> = new Set([...KMS_EVENT_NAMES, ...PIPELINE_EVENT_NAMES]);

const KEY = Buffer.from('"eventName"', 'latin1');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

// Names are compared byte by byte (every catalog name is ASCII), bucketed by length and
// first byte, so the common non-catalog name costs a lookup and no string.
const LONGEST_NAME = Math.max(...[...CATALOG_EVENT_NAMES].map((name) => name.length));
const NAMES_BY_SHAPE = new Map<number, Buffer[]>();
for (const name of CATALOG_EVENT_NAMES) {
  const bytes = Buffer.from(name, 'latin1');
  const shape = bytes.length * 256 + bytes[0]!;
  NAMES_BY_SHAPE.set(shape, [...(NAMES_BY_SHAPE.get(shape) ?? []), bytes]);
}

function isCatalogName(buf: Buffer, start: number, end: number): boolean {
  const names = NAMES_BY_SHAPE.get((end - start) * 256 + buf[start]!);
  if (names === undefined) return false;
  for (const name of names) {
    let i = 1;
    while (i < name.length && name[i] === buf[start + i]) i++;
    if (i === name.length) return true;
  }
  return false;
}

function isJsonSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

// Buffer#indexOf scans for the needle's first byte and compares from there; JSON is full of
// `"`, so `"eventName"` itself is slow to find. `Name"` starts with a byte that is rare in
// CloudTrail records (3x faster over a real trail); each hit is then checked for `"event`.
const ANCHOR = Buffer.from('Name"', 'latin1');
const ANCHOR_OFFSET = KEY.length - ANCHOR.length;
const KEY_HEAD = KEY.subarray(0, ANCHOR_OFFSET);

/** Position of the next `"eventName"` key at or after `from`, or -1. */
export function findEventNameKey(buf: Buffer, from: number): number {
  let anchor = buf.indexOf(ANCHOR, from + ANCHOR_OFFSET);
  while (anchor !== -1) {
    const at = anchor - ANCHOR_OFFSET;
    let i = 0;
    while (i < ANCHOR_OFFSET && buf[at + i] === KEY_HEAD[i]) i++;
    if (i === ANCHOR_OFFSET && at >= from) return at;
    anchor = buf.indexOf(ANCHOR, anchor + ANCHOR.length);
  }
  return -1;
}

/** Length of the `"eventName"` key, for callers that walk its occurrences themselves. */
export const EVENT_NAME_KEY_LENGTH = KEY.length;

/**
 * For an `"eventName"` key at `at`: true when its value is a catalog name, or a value
 * this cheap reader cannot judge (odd layout, escapes). Reads no further than `end`.
 */
export function keyNamesCandidate(buf: Buffer, at: number, end: number): boolean {
  let i = at + KEY.length;
  while (i < end && isJsonSpace(buf[i])) i++;
  if (buf[i] !== COLON) return false;
  i++;
  while (i < end && isJsonSpace(buf[i])) i++;
  if (buf[i] !== QUOTE) return false;
  const valueStart = i + 1;
  const limit = Math.min(end, valueStart + LONGEST_NAME + 1);
  let j = valueStart;
  while (j < limit && buf[j] !== QUOTE && buf[j] !== BACKSLASH) j++;
  if (buf[j] === BACKSLASH) return true;
  return buf[j] === QUOTE && j > valueStart && isCatalogName(buf, valueStart, j);
}

/**
 * True when bytes [start, end) of `buf` may hold a catalog change: some `"eventName"`
 * key in the range has a catalog event name (or a value we cannot read cheaply).
 */
export function mayBeChangeBytes(buf: Buffer, start: number, end: number): boolean {
  let at = findEventNameKey(buf, start);
  while (at !== -1 && at + KEY.length < end) {
    if (keyNamesCandidate(buf, at, end)) return true;
    at = findEventNameKey(buf, at + KEY.length);
  }
  return false;
}

const KEY_TEXT = '"eventName"';
// Sticky, so it reads the value right after the key; a value longer than any name cannot match.
const NAME_VALUE = /\s*:\s*"([^"\\]{0,64})(["\\])/y;

/** The same decision as {@link mayBeChangeBytes} for a record already held as a string. */
export function mayBeChangeText(text: string): boolean {
  let at = text.indexOf(KEY_TEXT);
  while (at !== -1) {
    NAME_VALUE.lastIndex = at + KEY_TEXT.length;
    const match = NAME_VALUE.exec(text);
    if (match !== null && (match[2] === '\\' || CATALOG_EVENT_NAMES.has(match[1] ?? ''))) return true;
    at = text.indexOf(KEY_TEXT, at + KEY_TEXT.length);
  }
  return false;
}
