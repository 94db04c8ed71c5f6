// Text for a terminal or a log line: what a record or a path carries is shown, never sent raw to the terminal.

// Control characters (C0, DEL, C1: escape sequences), format characters (bidirectional
// overrides), unassigned and private-use code points, lone surrogates, and the
// replacement character that stands for bytes that were not UTF-8.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cn}\p{Co}\p{Cs}\ufffd]/gu;

/** `text` with every character a terminal would not print as itself written as `\u{hex}`. */
export function printableText(text: string): string {
  return text.replace(UNPRINTABLE, (char) => `\\u{${char.codePointAt(0)!.toString(16)}}`);
}
