// A YAML settings file validated with zod, every problem reported as file:line:col: path: reason (the expectations and accounts files).

import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.ts';

/** More problems than this in one file are summarised: a person fixes the first ones first. */
const MAX_REPORTED = 20;

export interface YamlFileSpec<T> {
  readonly flag: string;
  readonly env: string;
  readonly schema: z.ZodType<T>;
  /** What the whole file must be, for the message about an empty or wrongly shaped file, e.g. 'a mapping with a "rules" list'. */
  readonly rootDescription: string;
  /** The keys a mapping at `path` may have, named in the message about an unknown key. */
  readonly knownKeys: (path: readonly PropertyKey[]) => readonly string[];
  /** Keys whose list items or mapping keys are account ids: plain numbers keep their digits (default: accounts). */
  readonly digitsUnder?: readonly string[];
}

interface Problem {
  readonly offset: number;
  readonly text: string;
}

export function quoted(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? String(part) : `.${String(part)}`;
  return text;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Readonly<Record<string, string>> = { array: 'a list', object: 'a mapping', record: 'a mapping', string: 'a string', boolean: 'true or false', number: 'a number' };

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  return value;
}

/** Where a path's node starts; for a missing node, where its nearest present parent starts. */
function offsetOf(document: Document, path: readonly PropertyKey[]): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = document.getIn(path.slice(0, depth) as (string | number)[], true);
    if (node !== undefined && node !== null && typeof node === 'object' && 'range' in node) {
      const range = (node as { range?: [number, number, number] | null }).range;
      if (range) return range[0];
    }
  }
  return 0;
}

/** The key node of `key` in the mapping at `path`, so an unknown key is reported where it is written. */
function keyOffset(document: Document, path: readonly PropertyKey[], key: string): number {
  const node = path.length === 0 ? document.contents : document.getIn(path as (string | number)[], true);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) return pair.key.range[0];
    }
  }
  return offsetOf(document, path);
}

function describeIssue<T>(issue: z.core.$ZodIssue, document: Document, value: unknown, spec: YamlFileSpec<T>): Problem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = spec.knownKeys(path);
    return issue.keys.map((key) => ({
      offset: keyOffset(document, path, key),
      text: `${pathText([...path, key])}: unknown key ${quoted(key)} (expected ${known.join(', ')})`,
    }));
  }
  const at = pathText(path);
  const prefix = at === '' ? '' : `${at}: `;
  // A problem with a mapping's key (params.at = 'key') is reported where the key is written.
  if (issue.code === 'custom' && (issue.params as { at?: string } | undefined)?.at === 'key' && path.length > 0) {
    return [{ offset: keyOffset(document, path.slice(0, -1), String(path[path.length - 1])), text: `${pathText(path.slice(0, -1))}: ${issue.message}` }];
  }
  if (issue.code === 'invalid_type') {
    const actual = valueAt(value, path);
    const expected = path.length === 0 ? spec.rootDescription : (EXPECTED[issue.expected] ?? issue.expected);
    const text = actual === undefined && path.length > 0 ? 'is required' : `expected ${expected}, got ${typeName(actual)}`;
    return [{ offset: offsetOf(document, path), text: `${prefix}${text}` }];
  }
  return [{ offset: offsetOf(document, path), text: `${prefix}${issue.message}` }];
}

/**
 * YAML reads an unquoted 012345678901 as the number 12345678901: under a key of
 * `digitsUnder` (a list of account ids, or a mapping keyed by them) a plain number keeps
 * the digits as written, leading zeros included.
 */
function keepDigits(document: Document, digitsUnder: readonly string[]): void {
  const keep = (node: unknown): void => {
    if (isScalar(node) && typeof node.value === 'number' && node.type === 'PLAIN' && typeof node.source === 'string' && /^\d+$/.test(node.source)) node.value = node.source;
  };
  visit(document, {
    Pair(_, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || !digitsUnder.includes(String(pair.key.value))) return;
      if (isSeq(pair.value)) for (const item of pair.value.items) keep(item);
      if (isMap(pair.value)) for (const item of pair.value.items) keep(item.key);
    },
  });
}

/** Parses and validates the text of a YAML settings file; `file` names it in every message. Throws a ConfigError listing every problem. */
export function parseYamlFile<T>(text: string, file: string, spec: YamlFileSpec<T>): T {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const report = (problems: readonly Problem[]): never => {
    const sorted = [...problems].sort((a, b) => a.offset - b.offset);
    const lines = sorted.slice(0, MAX_REPORTED).map((problem) => `${where(problem.offset)}: ${problem.text}`);
    if (sorted.length > MAX_REPORTED) lines.push(`... and ${sorted.length - MAX_REPORTED} more problem(s)`);
    throw new ConfigError(spec.flag, spec.env, lines.join('\n'));
  };

  if (document.errors.length > 0) report(document.errors.map((error) => ({ offset: error.pos[0], text: `not valid YAML: ${error.message}` })));
  keepDigits(document, spec.digitsUnder ?? ['accounts']);
  let value: unknown;
  try {
    // The alias cap keeps a "billion laughs" file from expanding without bound.
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    report([{ offset: 0, text: `not valid YAML: ${error instanceof Error ? error.message : String(error)}` }]);
  }
  if (value === null || value === undefined) report([{ offset: 0, text: `expected ${spec.rootDescription}, got an empty file` }]);
  const parsed = spec.schema.safeParse(value);
  if (!parsed.success) return report(parsed.error.issues.flatMap((issue) => describeIssue(issue, document, value, spec)));
  return parsed.data;
}

/** The text of a settings file; a file that cannot be read is a ConfigError naming the setting. */
export function readSettingsFile(path: string, flag: string, env: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error);
    throw new ConfigError(flag, env, `${path}: cannot read the file (${code})`);
  }
}

/** Reads and validates the YAML settings file at `path`. */
export function loadYamlFile<T>(path: string, spec: YamlFileSpec<T>): T {
  return parseYamlFile(readSettingsFile(path, spec.flag, spec.env), path, spec);
}
