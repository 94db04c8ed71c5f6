// Decides on raw bytes whether a CloudTrail record could be a catalog change, so only candidates are parsed.
//
// The prefilter must never reject a record the classifier would count: it answers
// "maybe" for anything it cannot rule out (escaped names, odd spacing) and only "no"
// when no `"eventName"` key in the record carries a catalog name. Every decision that
// counts is taken again by the classifier on the parsed record.

import { CATALOG_EVENT_NAMES } from '../catalog/kms-events.ts';

const KEY = Buffer.from('"eventName"', 'latin1');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

// Names are compared as latin1 strings of their bytes; every catalog name is ASCII.
const LONGEST_NAME = Math.max(...[...CATALOG_EVENT_NAMES].map((name) => name.length));

function isJsonSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * True when bytes [start, end) of `buf` may hold a catalog change: some `"eventName"`
 * key in the range has a catalog event name (or a value we cannot read cheaply).
 */
export function mayBeChangeBytes(buf: Buffer, start: number, end: number): boolean {
  let at = buf.indexOf(KEY, start);
  while (at !== -1 && at + KEY.length < end) {
    let i = at + KEY.length;
    while (i < end && isJsonSpace(buf[i])) i++;
    if (buf[i] === COLON) {
      i++;
      while (i < end && isJsonSpace(buf[i])) i++;
      if (buf[i] === QUOTE) {
        const valueStart = i + 1;
        const limit = Math.min(end, valueStart + LONGEST_NAME + 1);
        let j = valueStart;
        while (j < limit && buf[j] !== QUOTE && buf[j] !== BACKSLASH) j++;
        if (buf[j] === BACKSLASH) return true;
        if (buf[j] === QUOTE && CATALOG_EVENT_NAMES.has(buf.toString('latin1', valueStart, j))) return true;
      }
    }
    at = buf.indexOf(KEY, at + KEY.length);
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
