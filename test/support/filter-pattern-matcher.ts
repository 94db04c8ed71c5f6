// Evaluates CloudWatch Logs filter patterns (JSON and standalone %regex%) the way AWS documents them, for tests and fake servers.
//
// Sources, all from the CloudWatch Logs User Guide: "Filter pattern syntax for metric filters, subscription
// filters, filter log events, and Live Tail", "Supported regular expressions (regex) syntax" and "Using filter
// patterns to match terms in JSON log events"; the 1024-character cap is the API's filterPattern length
// constraint. Where the docs are silent the choice made here is marked "undocumented".
//
// Not implemented (compileFilterPattern throws rather than guessing): unstructured term patterns
// (ERROR ?WARN -INFO "a phrase") and space-delimited patterns ([ip, user, ...]).

export const MAX_PATTERN_LENGTH = 1024;
export const MAX_REGEX_TERMS = 2;
const MAX_WILDCARDS_PER_SELECTOR = 1;
const MAX_WILDCARD_SELECTORS = 3;

/** A pattern AWS would refuse (InvalidParameterException), or one this matcher does not implement. */
export class FilterPatternError extends Error {
  override name = 'FilterPatternError';
}

export type MessageMatcher = (message: string) => boolean;

/** Compiles a filter pattern once; the matcher takes a log event's message text. */
export function compileFilterPattern(pattern: string): MessageMatcher {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new FilterPatternError(`filter pattern is ${pattern.length} characters; the maximum is ${MAX_PATTERN_LENGTH}`);
  }
  const text = pattern.trim();
  // FilterLogEvents and Live Tail treat a missing or empty pattern as "every event".
  if (text === '') return () => true;

  if (text.startsWith('{')) {
    if (!text.endsWith('}')) throw new FilterPatternError("If a filter pattern starts with '{' it must end with '}'");
    const node = new JsonPatternParser(text.slice(1, -1)).parse();
    return (message) => {
      const doc = parseJsonObject(message);
      return doc !== undefined && evaluate(node, doc);
    };
  }
  if (text.length >= 2 && text.startsWith('%') && text.endsWith('%') && !text.slice(1, -1).includes('%')) {
    // A standalone regex searches the whole message: %AUTHORIZED% matches "UNAUTHORIZED REQUEST".
    const regex = compileAwsRegex(text.slice(1, -1));
    return (message) => regex.test(message);
  }
  if (text.startsWith('[')) throw new FilterPatternError('space-delimited filter patterns are not implemented by this matcher');
  throw new FilterPatternError('unstructured term filter patterns are not implemented by this matcher');
}

// ---------------------------------------------------------------------------------------------------------
// Regex: only the documented subset, translated to an equivalent JavaScript RegExp.

const REGEX_SYMBOLS = new Set([...':_#=@/;,-']);
const REGEX_OPERATORS = new Set([...'^$?[]{}|\\*+.']);

/**
 * "Filter patterns with regex can only include" alphanumerics, the symbols : _ # = @ / ; , - and the
 * operators ^ $ ? [ ] { } | \ * + . ; "The ( and ) operators are not supported"; "Multi-byte characters
 * are not supported". A space is allowed too: the docs' own example is %^starting|^initializing|^shutting down%.
 */
export function compileAwsRegex(source: string): RegExp {
  if (source === '') throw new FilterPatternError('empty regex %%');
  for (const char of source) {
    if (char === '(' || char === ')') {
      throw new FilterPatternError(`regex %${source}%: parentheses are not supported (use \\x28 and \\x29 to match them)`);
    }
    if (char.codePointAt(0)! > 0x7f) throw new FilterPatternError(`regex %${source}%: multi-byte characters are not supported`);
    if (!/[A-Za-z0-9 ]/.test(char) && !REGEX_SYMBOLS.has(char) && !REGEX_OPERATORS.has(char)) {
      throw new FilterPatternError(`regex %${source}%: character ${JSON.stringify(char)} is not supported`);
    }
  }

  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i]!;
    if (char === '\\') {
      const next = source[i + 1];
      if (next === undefined) throw new FilterPatternError(`regex %${source}%: trailing backslash`);
      if ('dDsSwW'.includes(next)) {
        out += `\\${next}`;
        i += 1;
      } else if (next === 'x') {
        const hex = source.slice(i + 2, i + 4);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new FilterPatternError(`regex %${source}%: \\x needs two hex digits`);
        out += `\\x${hex}`;
        i += 3;
      } else if (/[A-Za-z0-9]/.test(next)) {
        // Undocumented escapes (\b, \n, \1 ...) mean different things in different engines: refuse them.
        throw new FilterPatternError(`regex %${source}%: escape \\${next} is not supported`);
      } else {
        out += `\\${next}`;
        i += 1;
      }
    } else if (inClass) {
      if (char === ']') inClass = false;
      out += char;
    } else if (char === '[') {
      inClass = true;
      out += char;
      // A leading ']' (or '^]') is a literal member, as in POSIX; JavaScript would read '[]' as an empty class.
      if (source[i + 1] === '^') {
        out += '^';
        i += 1;
      }
      if (source[i + 1] === ']') {
        out += '\\]';
        i += 1;
      }
    } else if (char === '{') {
      const close = source.indexOf('}', i);
      const bounds = close === -1 ? null : /^\s*(\d*)\s*(?:(,)\s*(\d*)\s*)?$/.exec(source.slice(i + 1, close));
      if (close === -1 || bounds === null || (bounds[1] === '' && (bounds[2] === undefined || bounds[3] === ''))) {
        throw new FilterPatternError(`regex %${source}%: '{' must start a {m,n} repetition`);
      }
      // "Either m or n can be omitted": {,n} is not valid JavaScript, so spell out the 0.
      out += `{${bounds[1] === '' ? '0' : bounds[1]}${bounds[2] ?? ''}${bounds[3] ?? ''}}`;
      i = close;
    } else if (char === '}') {
      throw new FilterPatternError(`regex %${source}%: unmatched '}'`);
    } else {
      out += char;
    }
  }
  if (inClass) throw new FilterPatternError(`regex %${source}%: unterminated character class`);
  try {
    // 's': the docs define '.' as "any single character". No 'm': ^ and $ anchor the whole string.
    return new RegExp(out, 's');
  } catch (error) {
    throw new FilterPatternError(`regex %${source}%: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// JSON patterns: { selector op value }, IS NULL/TRUE/FALSE, NOT EXISTS, &&, ||, parentheses.

type Step = { readonly kind: 'key'; readonly key: string } | { readonly kind: 'index'; readonly index: number } | { readonly kind: 'any' };

type Node =
  | { readonly kind: 'and' | 'or'; readonly left: Node; readonly right: Node }
  | { readonly kind: 'test'; readonly path: readonly Step[]; readonly test: (value: unknown) => boolean }
  | { readonly kind: 'absent'; readonly path: readonly Step[] };

type Token =
  | { readonly kind: '(' | ')' | '&&' | '||' }
  | { readonly kind: 'op'; readonly op: '=' | '!=' | '<' | '>' | '<=' | '>=' }
  | { readonly kind: 'selector'; readonly path: readonly Step[]; readonly text: string }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'regex'; readonly source: string }
  | { readonly kind: 'word'; readonly value: string };

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const WORD_END = /[\s(){}"%=!<>&|]/;

function tokenize(body: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    const char = body[i]!;
    const two = body.slice(i, i + 2);
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: char });
      i += 1;
    } else if (two === '&&' || two === '||') {
      tokens.push({ kind: two });
      i += 2;
    } else if (two === '!=' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', op: two });
      i += 2;
    } else if (char === '=' || char === '<' || char === '>') {
      tokens.push({ kind: 'op', op: char });
      i += 1;
    } else if (char === '$') {
      const [path, end] = readSelector(body, i);
      tokens.push({ kind: 'selector', path, text: body.slice(i, end) });
      i = end;
    } else if (char === '"') {
      let value = '';
      let j = i + 1;
      for (; j < body.length && body[j] !== '"'; j += 1) {
        if (body[j] === '\\' && (body[j + 1] === '"' || body[j + 1] === '\\')) j += 1;
        value += body[j];
      }
      if (j >= body.length) throw new FilterPatternError('unterminated quoted string');
      tokens.push({ kind: 'string', value });
      i = j + 1;
    } else if (char === '%') {
      const end = body.indexOf('%', i + 1);
      if (end === -1) throw new FilterPatternError('unterminated %regex%');
      tokens.push({ kind: 'regex', source: body.slice(i + 1, end) });
      i = end + 1;
    } else if (WORD_END.test(char)) {
      throw new FilterPatternError(`unexpected ${JSON.stringify(char)} in filter pattern`);
    } else {
      let j = i;
      while (j < body.length && !WORD_END.test(body[j]!)) j += 1;
      tokens.push({ kind: 'word', value: body.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

/** `$.a.b`, `$.a[0]`, `$.a[*]`, `$.*`, `$.['cluster.name']`: "alphanumeric strings that support hyphen and underscore". */
function readSelector(body: string, start: number): [Step[], number] {
  const path: Step[] = [];
  let i = start + 1;
  for (;;) {
    if (body[i] === '.' && body[i + 1] === '[') {
      i += 1;
    } else if (body[i] === '.') {
      if (body[i + 1] === '*') {
        path.push({ kind: 'any' });
        i += 2;
        continue;
      }
      const key = /^[A-Za-z0-9_-]+/.exec(body.slice(i + 1))?.[0];
      if (key === undefined) throw new FilterPatternError(`bad property selector at ${JSON.stringify(body.slice(start, i + 2))}`);
      path.push({ kind: 'key', key });
      i += 1 + key.length;
      continue;
    }
    if (body[i] !== '[') break;
    const close = body.indexOf(']', i);
    const inner = close === -1 ? '' : body.slice(i + 1, close);
    const quoted = /^'([^']*)'$|^"([^"]*)"$/.exec(inner);
    if (inner === '*') path.push({ kind: 'any' });
    else if (/^\d+$/.test(inner)) path.push({ kind: 'index', index: Number(inner) });
    else if (quoted !== null) path.push({ kind: 'key', key: quoted[1] ?? quoted[2]! });
    else throw new FilterPatternError(`bad property selector at ${JSON.stringify(body.slice(start, i + 1))}`);
    i = close + 1;
  }
  if (path.length === 0) throw new FilterPatternError('a property selector needs at least one property after "$"');
  if (path.filter((step) => step.kind === 'any').length > MAX_WILDCARDS_PER_SELECTOR) {
    throw new FilterPatternError(`${body.slice(start, i)}: only ${MAX_WILDCARDS_PER_SELECTOR} wildcard is allowed in a property selector`);
  }
  return [path, i];
}

class JsonPatternParser {
  readonly #tokens: Token[];
  #position = 0;

  constructor(body: string) {
    this.#tokens = tokenize(body);
    const regexTerms = this.#tokens.filter((token) => token.kind === 'regex').length;
    if (regexTerms > MAX_REGEX_TERMS) {
      throw new FilterPatternError(`filter pattern has ${regexTerms} regex terms; the maximum is ${MAX_REGEX_TERMS}`);
    }
    const wildcardSelectors = this.#tokens.filter((token) => token.kind === 'selector' && token.path.some((step) => step.kind === 'any')).length;
    if (wildcardSelectors > MAX_WILDCARD_SELECTORS) {
      throw new FilterPatternError(`filter pattern has ${wildcardSelectors} wildcard selectors; the maximum is ${MAX_WILDCARD_SELECTORS}`);
    }
  }

  parse(): Node {
    if (this.#tokens.length === 0) throw new FilterPatternError('empty JSON filter pattern {}');
    const node = this.#or();
    const extra = this.#tokens[this.#position];
    if (extra !== undefined) throw new FilterPatternError(`unexpected ${describe(extra)} in filter pattern`);
    return node;
  }

  // Documented precedence: () > && > ||.
  #or(): Node {
    let node = this.#and();
    while (this.#peek()?.kind === '||') {
      this.#position += 1;
      node = { kind: 'or', left: node, right: this.#and() };
    }
    return node;
  }

  #and(): Node {
    let node = this.#primary();
    while (this.#peek()?.kind === '&&') {
      this.#position += 1;
      node = { kind: 'and', left: node, right: this.#primary() };
    }
    return node;
  }

  #primary(): Node {
    const token = this.#next();
    if (token.kind === '(') {
      const node = this.#or();
      if (this.#peek()?.kind !== ')') throw new FilterPatternError('missing ")" in filter pattern');
      this.#position += 1;
      return node;
    }
    if (token.kind !== 'selector') throw new FilterPatternError(`expected a property selector such as $.eventName, got ${describe(token)}`);
    return this.#condition(token.path, token.text);
  }

  #condition(path: readonly Step[], selector: string): Node {
    const token = this.#next();
    if (token.kind === 'word') {
      const keyword = token.value;
      if (keyword === 'IS') {
        const what = this.#next();
        if (what.kind === 'word' && what.value === 'NULL') return { kind: 'test', path, test: (value) => value === null };
        if (what.kind === 'word' && what.value === 'TRUE') return { kind: 'test', path, test: (value) => value === true };
        if (what.kind === 'word' && what.value === 'FALSE') return { kind: 'test', path, test: (value) => value === false };
        // "The variables IS NOT and EXISTS currently aren't supported."
        throw new FilterPatternError(`${selector} IS must be followed by NULL, TRUE or FALSE (IS NOT is not supported)`);
      }
      if (keyword === 'NOT') {
        const what = this.#next();
        if (what.kind === 'word' && what.value === 'EXISTS') return { kind: 'absent', path };
        throw new FilterPatternError(`${selector} NOT must be followed by EXISTS`);
      }
      if (keyword === 'EXISTS') throw new FilterPatternError('EXISTS is not supported; only NOT EXISTS is');
      throw new FilterPatternError(`expected an operator after ${selector}, got ${describe(token)}`);
    }
    if (token.kind !== 'op') throw new FilterPatternError(`expected an operator after ${selector}, got ${describe(token)}`);
    const value = this.#next();
    const test = valueTest(token.op, value, selector);
    return { kind: 'test', path, test };
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#position];
  }

  #next(): Token {
    const token = this.#tokens[this.#position];
    if (token === undefined) throw new FilterPatternError('filter pattern ends too early');
    this.#position += 1;
    return token;
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'op':
      return `"${token.op}"`;
    case 'selector':
      return token.text;
    case 'string':
      return JSON.stringify(token.value);
    case 'regex':
      return `%${token.source}%`;
    case 'word':
      return token.value;
    default:
      return `"${token.kind}"`;
  }
}

/** The scalar text a string or number exposes to string, wildcard and regex comparisons. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function valueTest(op: '=' | '!=' | '<' | '>' | '<=' | '>=', value: Token, selector: string): (value: unknown) => boolean {
  let matches: (text: string, raw: unknown) => boolean;
  if (value.kind === 'regex') {
    const regex = compileAwsRegex(value.source);
    matches = (text) => regex.test(text);
  } else if (value.kind === 'string' || value.kind === 'word') {
    const literal = value.value;
    if (value.kind === 'word' && NUMBER.test(literal)) {
      const number = Number(literal);
      if (op !== '=' && op !== '!=') {
        const compare = { '<': (a: number) => a < number, '>': (a: number) => a > number, '<=': (a: number) => a <= number, '>=': (a: number) => a >= number }[op];
        return (actual) => typeof actual === 'number' && compare(actual);
      }
      // Undocumented: a numeric literal against a JSON string compares the text.
      matches = (text, raw) => (typeof raw === 'number' ? raw === number : text === literal);
    } else {
      // "Use the asterisk ("*") as a wild card to match text": quoted or not, e.g. "AccessDenied*", 123.123.*.
      const wildcard = new RegExp(`^${literal.split('*').map(escapeRegExp).join('.*')}$`, 's');
      matches = (text) => wildcard.test(text);
    }
  } else {
    throw new FilterPatternError(`expected a value after ${selector} ${op}, got ${describe(value)}`);
  }
  if (op === '=') return (actual) => scalarText(actual) !== undefined && matches(scalarText(actual)!, actual);
  if (op === '!=') return (actual) => scalarText(actual) !== undefined && !matches(scalarText(actual)!, actual);
  throw new FilterPatternError(`${selector} ${op} needs a number`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation.

function parseJsonObject(message: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(message);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Every value the selector reaches; a wildcard step fans out over an array's elements or an object's fields. */
function resolve(doc: unknown, path: readonly Step[]): unknown[] {
  let current: unknown[] = [doc];
  for (const step of path) {
    const next: unknown[] = [];
    for (const value of current) {
      if (typeof value !== 'object' || value === null) continue;
      if (step.kind === 'any') {
        next.push(...Object.values(value));
      } else if (step.kind === 'index') {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if (!Array.isArray(value) && Object.hasOwn(value, step.key)) {
        next.push((value as Record<string, unknown>)[step.key]);
      }
    }
    current = next;
  }
  return current;
}

function evaluate(node: Node, doc: Record<string, unknown>): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, doc) && evaluate(node.right, doc);
    case 'or':
      return evaluate(node.left, doc) || evaluate(node.right, doc);
    case 'absent':
      return resolve(doc, node.path).length === 0;
    case 'test':
      // Undocumented: a missing property fails every comparison, != included.
      // "If a property selector points to an array or object, the filter pattern won't match": the tests
      // only accept strings, numbers, booleans and null.
      return resolve(doc, node.path).some(node.test);
  }
}
