// Record templates: the CloudTrail fixtures of test/fixtures/cloudtrail/, re-targeted to another account, Region and key.
//
// The fixtures are copied from the AWS KMS Developer Guide's CloudTrail examples, so every generated
// change has a real record's shape; editing a fixture changes every generated trail.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Rec = { [key: string]: Json };

/** Where the fixtures are, whether this file runs from the source tree or compiled into dist/. */
function findFixtures(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'test', 'fixtures', 'cloudtrail');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`test/fixtures/cloudtrail not found above ${import.meta.dirname}`);
  }
}
const FIXTURES = findFixtures();

/** The identities the fixtures use (the AWS documentation's placeholders), which re-targeting replaces. */
export const TEMPLATE_ACCOUNTS = ['111122223333', '444455556666'] as const;
export const TEMPLATE_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;
export const TEMPLATE_KEYS = [
  '1234abcd-12ab-34cd-56ef-1234567890ab',
  '6f8b2a41-3c7d-4e9a-b1f0-2d5c8e7a9b34',
  '9a7c5e31-0b2d-4f6a-8c1e-3d5f7a9b1c2e',
  '0987dcba-09fe-87dc-65ba-ab0987654321',
  'c0ffee00-1a2b-4c3d-8e9f-a0b1c2d3e4f5',
  'mrk-1234abcd12ab34cd56ef1234567890ab',
  'mrk-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
] as const;
export const TEMPLATE_STORE = 'cks-1234567890abcdef0';

/** A key, or for custom key store events the account and Region a store lives in. */
export interface Target {
  readonly account: string;
  readonly region: string;
  readonly keyId: string;
}

export const keyArn = (t: Target): string => `arn:aws:kms:${t.region}:${t.account}:key/${t.keyId}`;

/** Literal replacements: every `from` in the template text becomes its `to`. */
export type Pairs = readonly (readonly [string, string])[];

export function hasFixture(file: string): boolean {
  return fixtureTexts.has(file) || existsSync(join(FIXTURES, file));
}

const fixtureTexts = new Map<string, string>();
/** A fixture (path relative to test/fixtures/cloudtrail/) as compact JSON text. */
function fixtureText(file: string): string {
  let text = fixtureTexts.get(file);
  if (text === undefined) {
    text = JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')));
    fixtureTexts.set(file, text);
  }
  return text;
}

// A large trail re-targets the same few templates onto the same keys again and again: keep the
// texts for each pairs list (onto() hands out one list per target), for as long as the list lives.
const retargeted = new WeakMap<Pairs, Map<string, string>>();

/** The template with every literal `from` replaced by its `to` (all at once, through placeholders), as a fresh object. */
export function retarget(file: string, pairs: Pairs): Rec {
  let texts = retargeted.get(pairs);
  if (texts === undefined) {
    texts = new Map();
    retargeted.set(pairs, texts);
  }
  let text = texts.get(file);
  if (text === undefined) {
    let t = fixtureText(file);
    pairs.forEach(([from], i) => {
      t = t.split(from).join(`\u0001${i}\u0001`);
    });
    pairs.forEach(([, to], i) => {
      t = t.split(`\u0001${i}\u0001`).join(to);
    });
    text = t;
    texts.set(file, text);
  }
  return JSON.parse(text) as Rec;
}

const ontoTarget = new WeakMap<Target, Pairs>();

/** Pairs mapping every template account, Region and key to one target (`extra` pairs first). */
export function onto(target: Target, extra: Pairs = []): Pairs {
  if (extra.length === 0) {
    const known = ontoTarget.get(target);
    if (known !== undefined) return known;
  }
  const pairs: Pairs = [
    ...extra,
    ...TEMPLATE_ACCOUNTS.map((a) => [a, target.account] as const),
    ...TEMPLATE_REGIONS.map((r) => [r, target.region] as const),
    ...TEMPLATE_KEYS.map((k) => [k, target.keyId] as const),
  ];
  if (extra.length === 0) ontoTarget.set(target, pairs);
  return pairs;
}

/** A nested object of a record, for edits; a template without it is a bug in the caller. */
export function obj(r: Rec, key: string): Rec {
  const v = r[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${key} is not an object`);
  return v;
}
