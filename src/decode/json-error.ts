// What JSON.parse's complaint says, without the excerpt of the input it quotes.

// V8 quotes up to ten characters of the text (`Unexpected token 'x', "[xx"... is not valid
// JSON`): a record's content, or raw bytes when the input is binary. The rest stays.
const EXCERPT = /, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s;

/** JSON.parse's message about `error`, without the part of the input it quotes. */
export function jsonErrorDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(EXCERPT, ' is not valid JSON');
}
