// Evaluates EventBridge event patterns the way AWS documents them, for tests: exact values, nested objects, arrays, $or, prefix, anything-but.
//
// Sources, all from the Amazon EventBridge User Guide: "Event patterns" (eb-event-patterns.html: a pattern
// matches if the event has every field it names, with the same nesting; other fields are ignored; matching is
// exact, character by character, with JSON types: the string "true" is not the literal true), "Arrays in event
// patterns" (eb-event-patterns-arrays.html: any value of the pattern's array may match; an array in the event
// matches if the two intersect), and "Comparison operators" (eb-create-pattern-operators.html: prefix,
// anything-but, and $or, a list of patterns of which one must match). The size quota is eb-quota.html's
// "Event pattern size", 2,048 characters by default.
//
// Not implemented (compileEventPattern throws rather than guessing): numeric, cidr, exists, suffix,
// equals-ignore-case, wildcard, and anything-but with a prefix/suffix/wildcard.

export const MAX_EVENT_PATTERN_LENGTH = 2048;

/** A pattern EventBridge would refuse (InvalidEventPatternException), or one this matcher does not implement. */
export class EventPatternError extends Error {
  override name = 'EventPatternError';
}

export type EventMatcher = (event: unknown) => boolean;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Leaf = (value: Json) => boolean;
type Node = { readonly kind: 'object'; readonly fields: readonly (readonly [string, Node])[]; readonly or: readonly Node[][] } | { readonly kind: 'leaf'; readonly test: Leaf };

/** Compiles a pattern (its JSON text, as a rule is sent it); the matcher takes an event as parsed JSON. */
export function compileEventPattern(text: string): EventMatcher {
  if (text.length > MAX_EVENT_PATTERN_LENGTH) throw new EventPatternError(`event pattern is ${text.length} characters; the quota is ${MAX_EVENT_PATTERN_LENGTH}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new EventPatternError(`event pattern is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new EventPatternError('event pattern must be a JSON object');
  const root = compileObject(parsed as Record<string, unknown>, '');
  return (event) => isObject(event) && matchObject(root, event as Record<string, Json>);
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compileObject(pattern: Record<string, unknown>, path: string): Node & { kind: 'object' } {
  const fields: (readonly [string, Node])[] = [];
  const or: Node[][] = [];
  const keys = Object.keys(pattern);
  if (keys.length === 0) throw new EventPatternError(`${path || 'the pattern'}: an empty object matches nothing it could name`);
  for (const key of keys) {
    const value = pattern[key];
    const at = path === '' ? key : `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length === 0 || !value.every(isObject)) throw new EventPatternError(`${at}: $or takes a non-empty array of patterns`);
      or.push(value.map((branch: Record<string, unknown>) => compileObject(branch, at)));
    } else if (Array.isArray(value)) {
      fields.push([key, { kind: 'leaf', test: compileLeaf(value, at) }]);
    } else if (isObject(value)) {
      fields.push([key, compileObject(value as Record<string, unknown>, at)]);
    } else {
      throw new EventPatternError(`${at}: a pattern field is an array of values or a nested object, not ${JSON.stringify(value)}`);
    }
  }
  return { kind: 'object', fields, or };
}

function compileLeaf(values: readonly unknown[], at: string): Leaf {
  if (values.length === 0) throw new EventPatternError(`${at}: an empty array matches nothing`);
  const tests = values.map((value): Leaf => {
    if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return (event) => event === value;
    if (!isObject(value)) throw new EventPatternError(`${at}: ${JSON.stringify(value)} is not a value or an operator`);
    const [operator, ...rest] = Object.keys(value as object);
    const operand = (value as Record<string, unknown>)[operator!];
    if (rest.length > 0) throw new EventPatternError(`${at}: one operator per object, got ${Object.keys(value as object).join(', ')}`);
    if (operator === 'prefix' && typeof operand === 'string') return (event) => typeof event === 'string' && event.startsWith(operand);
    if (operator === 'anything-but') {
      const excluded = Array.isArray(operand) ? operand : [operand];
      if (excluded.length === 0 || !excluded.every((v) => typeof v === 'string' || typeof v === 'number')) throw new EventPatternError(`${at}: anything-but with objects is not implemented by this matcher`);
      return (event) => (typeof event === 'string' || typeof event === 'number') && !excluded.includes(event);
    }
    throw new EventPatternError(`${at}: operator ${JSON.stringify(operator)} is not implemented by this matcher`);
  });
  return (event) => tests.some((test) => test(event));
}

function matchObject(node: Node & { kind: 'object' }, event: Record<string, Json>): boolean {
  for (const [key, child] of node.fields) {
    // A field the event lacks never matches (only exists:false could, which this matcher does not implement).
    if (!Object.hasOwn(event, key)) return false;
    if (!matchValue(child, event[key]!)) return false;
  }
  return node.or.every((branches) => branches.some((branch) => matchObject(branch as Node & { kind: 'object' }, event)));
}

function matchValue(node: Node, value: Json): boolean {
  // An array in the event matches if any of its elements does (objects inside arrays are "crushed" into their parent).
  if (Array.isArray(value)) return value.some((element) => matchValue(node, element));
  if (node.kind === 'leaf') return node.test(value);
  return isObject(value) && matchObject(node, value as Record<string, Json>);
}
