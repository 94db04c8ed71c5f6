// One text per meaning of a key policy, so a log store can diff the policies a key had: sorted keys, one form for lists.

import type { PolicyDocumentInput } from '../classify/change-details.ts';

// Elements whose value may be one string or a list of them: written as a sorted list whatever the input used.
const LIST_ELEMENTS: ReadonlySet<string> = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);
const MAX_DEPTH = 32;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sortedList(value: unknown): unknown {
  const list = Array.isArray(value) ? [...(value as unknown[])] : [value];
  return list.every((v) => typeof v === 'string') ? (list as string[]).sort() : list;
}

function sortKeys(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new RangeError('policy nested too deeply');
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, depth + 1));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key], depth + 1);
  return out;
}

function canonicalStatement(statement: unknown): unknown {
  if (!isObject(statement)) return statement;
  const out: Record<string, unknown> = { ...statement };
  for (const element of LIST_ELEMENTS) if (element in out) out[element] = sortedList(out[element]);
  for (const element of ['Principal', 'NotPrincipal']) {
    const principal = out[element];
    if (isObject(principal)) out[element] = Object.fromEntries(Object.entries(principal).map(([type, v]) => [type, sortedList(v)]));
  }
  const condition = out['Condition'];
  if (isObject(condition)) {
    out['Condition'] = Object.fromEntries(
      Object.entries(condition).map(([operator, block]) => [operator, isObject(block) ? Object.fromEntries(Object.entries(block).map(([k, v]) => [k, sortedList(v)])) : block]),
    );
  }
  return out;
}

/**
 * The policy as compact JSON with sorted keys, Statement always a list (in its own order, which the
 * evidence's `Statement[i]` refers to), and Action/Resource/principal/condition values as sorted lists.
 * Undefined when there is no policy or it is not JSON; never throws.
 */
export function canonicalPolicy(input: PolicyDocumentInput): string | undefined {
  if (input.kind === 'absent') return undefined;
  try {
    const document: unknown = input.kind === 'text' ? JSON.parse(input.text) : input.value;
    if (!isObject(document)) return JSON.stringify(sortKeys(document, 0));
    const statements = document['Statement'];
    const normalised = { ...document, ...(statements === undefined ? {} : { Statement: (Array.isArray(statements) ? statements : [statements]).map(canonicalStatement) }) };
    return JSON.stringify(sortKeys(normalised, 0));
  } catch {
    return undefined;
  }
}
