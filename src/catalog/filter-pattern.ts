// The CloudWatch Logs filter pattern that selects both catalogs: the KMS changes exactly, and the pipeline's own events by name.
import { CATALOG } from './kms-events.ts';
import type { CatalogEntry } from './kms-events.ts';
import { PIPELINE_CATALOG } from './pipeline-events.ts';

/** What the pattern needs of a row, from either catalog. */
export type PatternRow = Pick<CatalogEntry, 'eventSource' | 'eventName'>;

/** AWS rejects longer patterns (FilterLogEvents, PutSubscriptionFilter, StartLiveTail: "Maximum length of 1024"). */
export const FILTER_PATTERN_MAX_LENGTH = 1024;

/** "There is a limit of 2 regex for each filter pattern" for JSON patterns, FilterLogEvents and Live Tail. */
export const FILTER_PATTERN_MAX_REGEX_TERMS = 2;

// Names go verbatim into a %regex% and a quoted string, so only characters that are literal in both
// may pass: a name like "Create.Key" would quietly widen the selection. CloudTrail names are alphanumeric.
const EVENT_NAME = /^[A-Za-z0-9]+$/;
const EVENT_SOURCE = /^[a-z0-9][a-z0-9.-]*$/;

/**
 * Builds the pattern: one clause per event source of the change catalog, then one clause for
 * the pipeline catalog:
 *
 *   { $.eventSource = "kms.amazonaws.com" && $.eventName = %^CancelKeyDeletion$|…% ||
 *     $.eventSource != "kms.amazonaws.com" && $.eventName = %^DeleteDeliveryStream$|…% }
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
 * The pipeline catalog spans four sources (CloudTrail, CloudWatch Logs, Firehose, EventBridge) and
 * cannot have its own regex per source (two in all), nor an `||` chain of four source equalities
 * (1158 characters in all). Its names share one regex, guarded by "not a change-catalog source"
 * (which keeps a KMS record named like a pipeline event out). That clause also admits another
 * service's event of the same name (WAF's or Elastic Load Balancing's `DeleteRule`): rare
 * configuration calls, which the classifier, keyed on (eventSource, eventName), ignores. The KMS
 * clause stays exact. No parentheses: `&&` binds tighter than `||`, and the characters are scarce.
 *
 * Throws if the catalog cannot be expressed within AWS's limits, so a new row that breaks them fails tests.
 */
export function buildFilterPattern(catalog: readonly PatternRow[] = CATALOG, pipeline: readonly PatternRow[] = PIPELINE_CATALOG): string {
  const namesBySource = new Map<string, Set<string>>();
  for (const entry of [...catalog, ...pipeline]) {
    if (!EVENT_SOURCE.test(entry.eventSource)) {
      throw new Error(`filter pattern: event source ${JSON.stringify(entry.eventSource)} is not a lower-case host name`);
    }
    if (!EVENT_NAME.test(entry.eventName)) {
      throw new Error(`filter pattern: event name ${JSON.stringify(entry.eventName)} must be alphanumeric to be matched literally`);
    }
  }
  for (const entry of catalog) {
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
  const nameTest = (names: readonly string[]): string => {
    if (names.length === 1) return `$.eventName = "${names[0]}"`;
    regexTerms += 1;
    return `$.eventName = %${[...names].sort().map((name) => `^${name}$`).join('|')}%`;
  };
  const sources = [...namesBySource.keys()].sort();
  // The pipeline clause excludes the change catalog's sources, so a pipeline row from one of them would never be selected.
  const clash = pipeline.find((entry) => namesBySource.has(entry.eventSource));
  if (clash !== undefined) throw new Error(`filter pattern: pipeline event ${clash.eventName} comes from ${clash.eventSource}, a source of the change catalog`);
  const clauses = sources.map((source) => `$.eventSource = "${source}" && ${nameTest([...namesBySource.get(source)!])}`);
  const pipelineNames = [...new Set(pipeline.map((entry) => entry.eventName))];
  if (pipelineNames.length > 0) clauses.push([...sources.map((source) => `$.eventSource != "${source}"`), nameTest(pipelineNames)].join(' && '));
  const pattern = `{ ${clauses.join(' || ')} }`;

  if (regexTerms > FILTER_PATTERN_MAX_REGEX_TERMS) {
    throw new Error(
      `filter pattern: ${namesBySource.size} event sources${pipelineNames.length > 0 ? ' and the pipeline catalog' : ''} need ${regexTerms} regex terms, ` +
        `but AWS allows at most ${FILTER_PATTERN_MAX_REGEX_TERMS} per pattern`,
    );
  }
  if (pattern.length > FILTER_PATTERN_MAX_LENGTH) {
    throw new Error(
      `filter pattern: ${pattern.length} characters for ${catalog.length + pipeline.length} catalog rows, ` +
        `but AWS allows at most ${FILTER_PATTERN_MAX_LENGTH}`,
    );
  }
  return pattern;
}
