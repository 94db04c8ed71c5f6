// Cuts text holding JSON objects one after another (newline-delimited, or with nothing between them) into one piece per object.
//
// EventBridge writes one event per Firehose record and Firehose adds no delimiter
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-custom-bus-target-firehose.html, "Batching and payload"),
// but an input transformer, a Lambda transform or Firehose's AppendDelimiterToRecord processor may end each event with a
// newline, and a transform may put several events in one record. The cut is string-aware brace matching, so a `}` inside a
// string never ends an object. Whatever is not an object (stray text, an object cut short) is a piece of its own, for the
// caller to find malformed when it parses it.

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** The pieces of `text` in order, white space between them dropped; never throws. */
export function splitJsonObjects(text: string): string[] {
  const pieces: string[] = [];
  let i = 0;
  const end = text.length;
  while (i < end) {
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    if (i >= end) break;
    const start = i;
    if (text.charCodeAt(i) !== OPEN) {
      // Stray text up to the next object (or the end): one piece.
      const next = text.indexOf('{', i);
      i = next === -1 ? end : next;
      pieces.push(text.slice(start, i).trimEnd());
      continue;
    }
    let depth = 0;
    let inString = false;
    for (; i < end; i++) {
      const code = text.charCodeAt(i);
      if (inString) {
        if (code === BACKSLASH) i++;
        else if (code === QUOTE) inString = false;
      } else if (code === QUOTE) inString = true;
      else if (code === OPEN) depth++;
      else if (code === CLOSE && --depth === 0) {
        i++;
        break;
      }
    }
    pieces.push(text.slice(start, i));
  }
  return pieces;
}
