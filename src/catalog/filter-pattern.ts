// The CloudWatch Logs filter pattern that selects exactly the catalog's (eventSource, eventName) pairs.
import { CATALOG } from './kms-events.ts';
import type { CatalogEntry } from './kms-events.ts';

/** AWS rejects longer patterns (FilterLogEvents, PutSubscriptionFilter, StartLiveTail: "Maximum length of 1024"). */
export const FILTER_PATTERN_MAX_LENGTH = 1024;

/** "There is a limit of 2 regex for each filter pattern" for JSON patterns, FilterLogEvents and Live Tail. */
export const FILTER_PATTERN_MAX_REGEX_TERMS = 2;

// Names go verbatim into a %regex% and a quoted string, so only characters that are literal in both
// may pass: a name like "Create.Key" would quietly widen the selection. CloudTrail names are alphanumeric.
const EVENT_NAME = /^[A-Za-z0-9]+$/;
const EVENT_SOURCE = /^[a-z0-9][a-z0-9.-]*$/;

/**
 * Builds the pattern, one clause per event source:
 *
 *   { $.eventSource = "kms.amazonaws.com" && $.eventName = %^CancelKeyDeletion$|^ConnectCustomKeyStore$|…% }
 *
 * Why this shape (AWS, "Filter pattern syntax for metric filters, subscription filters, filter log
 * events, and Live Tail" and "Supported regular expressions (regex) syntax"):
 * - A JSON pattern may compare a property with a `%regex%`, and the regex matches anywhere in the value
 *   (`{ $.eventType = %Trail% }` matches "UpdateTrail"), so every name is anchored with `^` and `$`.
 * - `|` is alternation between whole terms; with no parentheses to group, each alternative carries its
 *   own anchors (the docs' own example: `%^starting|^initializing|^shutting down%`).
 * - Patterns are case sensitive, `&&` binds tighter than `||`, and parentheses may group conditions.
 * - One regex per source costs a name's length plus 3 characters; an `||` chain of `$.eventName = "…"`
 *   equality terms costs about 20 more per name and does not fit 31 names in 1024 characters.
 * A source with a single name uses plain equality, which keeps the two-regex budget for sources that need it.
 * Names are sorted so the printed pattern only changes when the set of events does.
 *
 * Throws if the catalog cannot be expressed within AWS's limits, so a new row that breaks them fails tests.
 */
export function buildFilterPattern(catalog: readonly CatalogEntry[] = CATALOG): string {
  const namesBySource = new Map<string, Set<string>>();
  for (const entry of catalog) {
    if (!EVENT_SOURCE.test(entry.eventSource)) {
      throw new Error(`filter pattern: event source ${JSON.stringify(entry.eventSource)} is not a lower-case host name`);
    }
    if (!EVENT_NAME.test(entry.eventName)) {
      throw new Error(`filter pattern: event name ${JSON.stringify(entry.eventName)} must be alphanumeric to be matched literally`);
    }
    let names = namesBySource.get(entry.eventSource);
    if (names === undefined) {
      names = new Set();
      namesBySource.set(entry.eventSource, names);
    }
    names.add(entry.eventName);
  }
  // An empty pattern matches every event: never let an empty catalog turn into "select everything".
  if (namesBySource.size === 0) throw new Error('filter pattern: the catalog is empty');

  let regexTerms = 0;
  const clauses = [...namesBySource.keys()].sort().map((source) => {
    const names = [...namesBySource.get(source)!].sort();
    let nameTest: string;
    if (names.length === 1) {
      nameTest = `$.eventName = "${names[0]}"`;
    } else {
      regexTerms += 1;
      nameTest = `$.eventName = %${names.map((name) => `^${name}$`).join('|')}%`;
    }
    return `$.eventSource = "${source}" && ${nameTest}`;
  });
  const body = clauses.length === 1 ? clauses[0]! : clauses.map((clause) => `(${clause})`).join(' || ');
  const pattern = `{ ${body} }`;

  if (regexTerms > FILTER_PATTERN_MAX_REGEX_TERMS) {
    throw new Error(
      `filter pattern: ${namesBySource.size} event sources need ${regexTerms} regex terms, ` +
        `but AWS allows at most ${FILTER_PATTERN_MAX_REGEX_TERMS} per pattern`,
    );
  }
  if (pattern.length > FILTER_PATTERN_MAX_LENGTH) {
    throw new Error(
      `filter pattern: ${pattern.length} characters for ${catalog.length} catalog rows, ` +
        `but AWS allows at most ${FILTER_PATTERN_MAX_LENGTH}`,
    );
  }
  return pattern;
}
