// Generates examples/trail.jsonl.gz: a deterministic, realistic-looking CloudTrail trail for the
// demo (`npm run demo`) and for end-to-end checks, plus examples/trail.expected.json, the ground
// truth the generator computes while it writes the trail.
//
//   node examples/make-trail.ts
//
// Node 24 runs this file directly (type stripping): only erasable TypeScript syntax, only node:
// builtins. Everything random comes from one seeded PRNG and every timestamp is fixed in this
// file, so two runs write byte-identical output.
//
// Records are built from the shapes of the fixtures in test/fixtures/cloudtrail/ (themselves
// copied from the AWS KMS Developer Guide's CloudTrail examples): each template is re-targeted
// to another account, Region, key and principal, and given a fresh eventTime and eventID.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Rec = { [key: string]: Json };

const HERE = import.meta.dirname;
const FIXTURES = join(HERE, '..', 'test', 'fixtures', 'cloudtrail');
const OUT_TRAIL = join(HERE, 'trail.jsonl.gz');
const OUT_TRUTH = join(HERE, 'trail.expected.json');

const SEED = 0x4b4d5307;
const START = Date.parse('2026-11-20T00:00:00Z');
const END = Date.parse('2026-11-24T00:00:00Z');
const TARGET_LINES = 2000;

// ------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32)

let prngState = SEED >>> 0;
function rand(): number {
  prngState = (prngState + 0x6d2b79f5) >>> 0;
  let t = prngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function int(n: number): number {
  return Math.floor(rand() * n);
}
function pick<T>(items: readonly T[]): T {
  const item = items[int(items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}
function weighted<T>(items: readonly (readonly [number, T])[]): T {
  const total = items.reduce((sum, [w]) => sum + w, 0);
  let r = rand() * total;
  for (const [w, item] of items) {
    r -= w;
    if (r < 0) return item;
  }
  const last = items[items.length - 1];
  if (last === undefined) throw new Error('weighted pick from an empty list');
  return last[1];
}
function hex(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[int(16)];
  return s;
}
function upperAlnum(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[int(32)];
  return s;
}
function uuid(): string {
  const h = hex(32).split('');
  h[12] = '4';
  h[16] = '89ab'[int(4)] ?? '8';
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

// ------------------------------------------------------------------------------------------
// Time helpers

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
/** day 0 is 2026-11-20 (UTC). */
function at(day: number, hh: number, mm: number, ss: number): number {
  return START + day * DAY + hh * HOUR + mm * MINUTE + ss * 1000;
}
const pad2 = (n: number): string => String(n).padStart(2, '0');
/** The AWS KMS guide's ScheduleKeyDeletion example form: "Apr 12, 2021 18:58:30 PM" (24-hour clock, then AM/PM). */
function kmsDoc24h(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${pad2(h)}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}
/** Java's medium date-time form, as in "Nov 18, 2020, 1:29:18 AM" (12-hour clock). */
function javaMedium(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h12}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

// ------------------------------------------------------------------------------------------
// Templates: the fixtures, and literal re-targeting of their identities

const TEMPLATE_ACCOUNTS = ['111122223333', '444455556666'] as const;
const TEMPLATE_REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;
const TEMPLATE_KEYS = [
  '1234abcd-12ab-34cd-56ef-1234567890ab',
  '6f8b2a41-3c7d-4e9a-b1f0-2d5c8e7a9b34',
  '9a7c5e31-0b2d-4f6a-8c1e-3d5f7a9b1c2e',
  '0987dcba-09fe-87dc-65ba-ab0987654321',
  'c0ffee00-1a2b-4c3d-8e9f-a0b1c2d3e4f5',
  'mrk-1234abcd12ab34cd56ef1234567890ab',
  'mrk-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
] as const;

const templateCache = new Map<string, string>();
function templateText(file: string): string {
  let text = templateCache.get(file);
  if (text === undefined) {
    text = JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')));
    templateCache.set(file, text);
  }
  return text;
}

type Pairs = readonly (readonly [string, string])[];

/** The template with every literal `from` replaced by its `to` (all at once, through placeholders). */
function retarget(file: string, pairs: Pairs): Rec {
  let text = templateText(file);
  pairs.forEach(([from], i) => {
    text = text.split(from).join(`\u0001${i}\u0001`);
  });
  pairs.forEach(([, to], i) => {
    text = text.split(`\u0001${i}\u0001`).join(to);
  });
  return JSON.parse(text) as Rec;
}

interface Target {
  readonly account: string;
  readonly region: string;
  readonly keyId: string;
}
/** Pairs mapping every template account, Region and key to one target. */
function onto(target: Target, extra: Pairs = []): Pairs {
  return [
    ...extra,
    ...TEMPLATE_ACCOUNTS.map((a) => [a, target.account] as const),
    ...TEMPLATE_REGIONS.map((r) => [r, target.region] as const),
    ...TEMPLATE_KEYS.map((k) => [k, target.keyId] as const),
  ];
}

function obj(r: Rec, key: string): Rec {
  const v = r[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${key} is not an object`);
  return v;
}
const keyArn = (t: Target): string => `arn:aws:kms:${t.region}:${t.account}:key/${t.keyId}`;

// ------------------------------------------------------------------------------------------
// Accounts, Regions, keys, principals

const A = '111122223333'; // production
const B = '444455556666'; // platform / CI
const C = '777788889999'; // data
const ACCOUNTS = [A, B, C] as const;
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;

const inventory = new Map<string, string[]>();
for (const account of ACCOUNTS) for (const region of REGIONS) inventory.set(`${account}/${region}`, [uuid(), uuid()]);
function key(account: string, region: string, index: number): Target {
  const keyId = inventory.get(`${account}/${region}`)?.[index];
  if (keyId === undefined) throw new Error(`no key ${account}/${region}/${index}`);
  return { account, region, keyId };
}
const anyKey = (account: string, region: string): Target => key(account, region, int(2));

interface Principal {
  readonly type: string;
  readonly arn: string | null;
  readonly ip: string;
  readonly ua: string;
  identity(eventTime: number): Rec;
}

const CLI = 'aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0-1017-aws md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off';
const TF = 'APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.76.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.4 ua/2.1 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64';
const BOTO = 'Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#5.10.227-219.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.60';
const NODE_SDK = 'aws-sdk-nodejs/3.693.0 linux/v22.11.0 exec-env/AWS_Lambda_nodejs22.x';
const CONSOLE = 'AWS Internal';

function iamUser(account: string, name: string, ip: string, ua: string): Principal {
  const principalId = `AIDA${upperAlnum(17)}`;
  const accessKeyId = `AKIA${upperAlnum(16)}`;
  return {
    type: 'IAMUser',
    arn: `arn:aws:iam::${account}:user/${name}`,
    ip,
    ua,
    identity: () => ({ type: 'IAMUser', principalId, arn: `arn:aws:iam::${account}:user/${name}`, accountId: account, accessKeyId, userName: name }),
  };
}
function assumedRole(account: string, role: string, session: string, ip: string, ua: string, issuerPath = '/'): Principal {
  const roleId = `AROA${upperAlnum(17)}`;
  const arn = `arn:aws:sts::${account}:assumed-role/${role}/${session}`;
  return {
    type: 'AssumedRole',
    arn,
    ip,
    ua,
    identity: (t) => ({
      type: 'AssumedRole',
      principalId: `${roleId}:${session}`,
      arn,
      accountId: account,
      accessKeyId: `ASIA${upperAlnum(16)}`,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: roleId, arn: `arn:aws:iam::${account}:role${issuerPath}${role}`, accountId: account, userName: role },
        webIdFederationData: {},
        attributes: { creationDate: iso(t - (5 + int(50)) * MINUTE), mfaAuthenticated: 'false' },
      },
    }),
  };
}
function root(account: string, ip: string): Principal {
  return {
    type: 'Root',
    arn: `arn:aws:iam::${account}:root`,
    ip,
    ua: CONSOLE,
    identity: (t) => ({
      type: 'Root',
      principalId: account,
      arn: `arn:aws:iam::${account}:root`,
      accountId: account,
      accessKeyId: `ASIA${upperAlnum(16)}`,
      sessionContext: { sessionIssuer: {}, webIdFederationData: {}, attributes: { creationDate: iso(t - (2 + int(20)) * MINUTE), mfaAuthenticated: 'true' } },
    }),
  };
}
function awsService(invokedBy: string): Principal {
  return { type: 'AWSService', arn: null, ip: invokedBy, ua: invokedBy, identity: () => ({ type: 'AWSService', invokedBy }) };
}

const alice = iamUser(A, 'Alice', '192.0.2.10', CONSOLE);
const mallory = iamUser(A, 'mallory', '203.0.113.200', CLI);
const bob = assumedRole(A, 'KeyAdmin', 'bob', '192.0.2.44', CLI);
const rootA = root(A, '203.0.113.77');
const carol = assumedRole(B, 'AWSReservedSSO_AdministratorAccess_0123456789abcdef', 'carol@example.com', '198.51.100.24', CONSOLE, '/aws-reserved/sso.amazonaws.com/eu-west-1/');
const deployer = assumedRole(B, 'terraform-deployer', 'GitHubActions', '198.51.100.133', TF);
const dave = assumedRole(B, 'Developer', 'dave', '198.51.100.61', BOTO);
const erin = assumedRole(C, 'OpsAdmin', 'erin', '198.51.100.90', CLI);
const ci = iamUser(C, 'svc-ci', '203.0.113.15', BOTO);
const rootC = root(C, '203.0.113.140');

const workloads = new Map<string, Principal[]>();
for (const account of ACCOUNTS) {
  workloads.set(account, [
    assumedRole(account, 'orders-worker-role', 'orders-worker', `3.80.${int(256)}.${int(256)}`, NODE_SDK),
    assumedRole(account, 'reporting-batch', `i-0${hex(16)}`, `10.0.${int(256)}.${int(256)}`, BOTO),
    assumedRole(account, 'etl-glue-role', 'GlueJobRunnerSession', 'glue.amazonaws.com', 'glue.amazonaws.com'),
  ]);
}
const humans = new Map<string, Principal[]>([
  [A, [alice, bob, mallory, rootA]],
  [B, [carol, deployer, dave]],
  [C, [erin, ci]],
]);
function of(map: Map<string, Principal[]>, account: string): Principal[] {
  const list = map.get(account);
  if (list === undefined) throw new Error(`no principals for ${account}`);
  return list;
}

// ------------------------------------------------------------------------------------------
// Records and what we know about them

type Kind = 'change' | 'ignored';
interface Entry {
  readonly time: number;
  readonly seq: number;
  readonly line: string;
  readonly kind: Kind;
  readonly eventName: string | null;
  readonly errorCode: string | null;
  readonly account: string;
  readonly region: string;
  readonly principalType: string | null;
  readonly eventID: string;
  /** ScheduleKeyDeletion / CancelKeyDeletion bookkeeping. */
  readonly pending?: { readonly action: 'schedule' | 'cancel'; readonly keyArn: string; readonly deletionDate?: string };
}
const entries: Entry[] = [];
let seq = 0;

interface Options {
  readonly principal?: Principal;
  readonly pairs?: Pairs;
  readonly error?: { readonly code: string; readonly message?: string; readonly resource: string };
  readonly edit?: (r: Rec) => void;
  readonly pending?: Entry['pending'];
}

/** One catalog change built from a fixture: success unless `error` is given. */
function change(file: string, time: number, target: Target, opts: Options = {}): Entry {
  const r = retarget(file, opts.pairs ?? onto(target));
  return push(r, time, 'change', opts);
}

function push(r: Rec, time: number, kind: Kind, opts: Options = {}): Entry {
  r['eventTime'] = iso(time);
  r['eventID'] = uuid();
  if ('requestID' in r) r['requestID'] = uuid();
  if ('sharedEventID' in r) r['sharedEventID'] = uuid();
  const p = opts.principal;
  if (p !== undefined) {
    r['userIdentity'] = p.identity(time);
    r['sourceIPAddress'] = p.ip;
    r['userAgent'] = p.ua;
  }
  if (opts.error !== undefined) {
    const eventName = String(r['eventName']);
    r['errorCode'] = opts.error.code;
    r['errorMessage'] =
      opts.error.message ??
      `User: ${p?.arn ?? 'unknown'} is not authorized to perform: kms:${eventName} on resource: ${opts.error.resource} because no identity-based policy allows the kms:${eventName} action`;
    r['responseElements'] = null;
  }
  opts.edit?.(r);
  const ui = r['userIdentity'];
  const principalType =
    ui !== null && typeof ui === 'object' && !Array.isArray(ui) ? (typeof ui['type'] === 'string' ? ui['type'] : 'AWSService') : null;
  const entry: Entry = {
    time,
    seq: seq++,
    line: JSON.stringify(r),
    kind,
    eventName: typeof r['eventName'] === 'string' ? r['eventName'] : null,
    errorCode: typeof r['errorCode'] === 'string' ? r['errorCode'] : null,
    account: String(r['recipientAccountId']),
    region: String(r['awsRegion']),
    principalType,
    eventID: String(r['eventID']),
    ...(opts.pending !== undefined ? { pending: opts.pending } : {}),
  };
  entries.push(entry);
  return entry;
}

// ------------------------------------------------------------------------------------------
// The changes: every catalog event at least once, with a story

// Keys that enter the story besides the inventory.
const importedKey: Target = { account: A, region: 'us-east-1', keyId: uuid() };
const doomedKey: Target = { account: B, region: 'eu-west-1', keyId: uuid() }; // scheduled before the trail starts
const mrkId = `mrk-${hex(32)}`;
const mrkPrimary: Target = { account: A, region: 'us-east-1', keyId: mrkId };
const newKeys = [
  { account: B, region: 'eu-west-1', keyId: uuid() },
  { account: C, region: 'ap-southeast-2', keyId: uuid() },
  { account: A, region: 'eu-west-1', keyId: uuid() },
] as const;
const storeA = `cks-${hex(17)}`; // account C, us-east-1
const storeOld = `cks-${hex(17)}`;

// Key X: scheduled for deletion by bob, cancelled by Alice the next morning, re-enabled.
const keyX = key(A, 'us-east-1', 0);
{
  const t = at(1, 18, 42, 5);
  const days = 7;
  const due = t + days * DAY;
  change('ScheduleKeyDeletion.json', t, keyX, {
    principal: bob,
    edit: (r) => {
      obj(r, 'requestParameters')['pendingWindowInDays'] = days;
      obj(r, 'responseElements')['deletionDate'] = kmsDoc24h(due);
    },
    pending: { action: 'schedule', keyArn: keyArn(keyX), deletionDate: iso(due) },
  });
  change('CancelKeyDeletion.json', at(2, 9, 30, 11), keyX, { principal: alice, pending: { action: 'cancel', keyArn: keyArn(keyX) } });
  change('EnableKey.json', at(2, 9, 31, 2), keyX, { principal: alice });
}
// Key Y: scheduled for deletion by account C's root user, still pending at the end.
const keyY = key(C, 'ap-southeast-2', 1);
const scheduleY = (() => {
  const t = at(3, 16, 45, 12);
  const days = 30;
  const due = t + days * DAY;
  return change('ScheduleKeyDeletion.12h-date.json', t, keyY, {
    principal: rootC,
    edit: (r) => {
      obj(r, 'requestParameters')['keyId'] = keyY.keyId;
      obj(r, 'requestParameters')['pendingWindowInDays'] = days;
      const resp = obj(r, 'responseElements');
      resp['deletionDate'] = javaMedium(due);
      resp['pendingWindowInDays'] = days;
      delete r['tlsDetails'];
      r['sessionCredentialFromConsole'] = 'true';
    },
    pending: { action: 'schedule', keyArn: keyArn(keyY), deletionDate: iso(due) },
  });
})();
change('DisableKey.json', at(3, 16, 40, 3), keyY, { principal: rootC });
// Dave tries to schedule a key for deletion and to disable one by alias: denied.
{
  const k = key(B, 'eu-west-1', 0);
  change('ScheduleKeyDeletion.AccessDenied.json', at(2, 10, 7, 52), k, { principal: dave, error: { code: 'AccessDenied', resource: keyArn(k) } });
}
const deniedDisable = change('DisableKey.AccessDenied.json', at(2, 10, 4, 18), key(B, 'eu-west-1', 1), {
  principal: dave,
  error: { code: 'AccessDenied', resource: `arn:aws:kms:eu-west-1:${B}:alias/payments-prod` },
});
change('DisableKey.json', at(0, 8, 1, 33), key(A, 'ap-southeast-2', 1), { principal: bob });

// Key policies.
change('PutKeyPolicy.json', at(0, 20, 6, 16), key(C, 'us-east-1', 0), { principal: rootC });
change('PutKeyPolicy.json', at(1, 11, 20, 45), key(A, 'eu-west-1', 0), { principal: bob });
{
  const k = key(A, 'us-east-1', 1);
  change('PutKeyPolicy.AccessDenied.json', at(3, 2, 14, 51), k, {
    principal: mallory,
    error: { code: 'AccessDenied', message: `User: ${mallory.arn} is not authorized to perform: kms:PutKeyPolicy on resource: ${keyArn(k)} because no resource-based policy allows the kms:PutKeyPolicy action`, resource: keyArn(k) },
  });
}

// Imported key material: import, delete, re-import, then the (older) material expires.
change('ImportKeyMaterial.json', at(0, 16, 8, 0), importedKey, { principal: alice });
change('DeleteImportedKeyMaterial.json', at(1, 15, 45, 8), importedKey, { principal: alice });
change('ImportKeyMaterial.json', at(1, 15, 52, 30), importedKey, { principal: alice });
change('DeleteExpiredKeyMaterial.json', at(2, 16, 0, 0), importedKey);

// Custom key stores (account C, us-east-1).
const storePairs = (store: string): Pairs => onto({ account: C, region: 'us-east-1', keyId: 'unused' }, [['cks-1234567890abcdef0', store]]);
const storeTarget: Target = { account: C, region: 'us-east-1', keyId: 'unused' };
change('CreateCustomKeyStore.json', at(0, 13, 17, 32), storeTarget, { principal: erin, pairs: storePairs(storeA) });
change('ConnectCustomKeyStore.json', at(0, 13, 40, 11), storeTarget, { principal: erin, pairs: storePairs(storeA) });
change('DisconnectCustomKeyStore.json', at(1, 6, 3, 47), storeTarget, { principal: erin, pairs: storePairs(storeA) });
change('UpdateCustomKeyStore.json', at(1, 6, 10, 2), storeTarget, { principal: erin, pairs: storePairs(storeA) });
change('ConnectCustomKeyStore.json', at(1, 6, 31, 40), storeTarget, { principal: erin, pairs: storePairs(storeA) });
change('DisconnectCustomKeyStore.json', at(2, 6, 3, 47), storeTarget, { principal: erin, pairs: storePairs(storeOld) });
change('DeleteCustomKeyStore.json', at(2, 6, 20, 15), storeTarget, { principal: erin, pairs: storePairs(storeOld) });
change('DeleteCustomKeyStore.AccessDenied.json', at(3, 2, 16, 40), storeTarget, {
  principal: ci,
  pairs: storePairs(storeA),
  error: { code: 'AccessDenied', resource: `arn:aws:kms:us-east-1:${C}:custom-key-store/${storeA}` },
});

// Rotation.
change('EnableKeyRotation.json', at(0, 10, 0, 41), newKeys[0], { principal: deployer });
change('EnableKeyRotation.json', at(0, 14, 2, 9), key(C, 'us-east-1', 1), { principal: erin });
change('EnableKeyRotation.json', at(2, 11, 12, 0), key(A, 'eu-west-1', 1), { principal: bob });
change('DisableKeyRotation.json', at(1, 13, 51, 39), key(B, 'eu-west-1', 0), { principal: carol });
change('RotateKeyOnDemand.json', at(1, 17, 41, 57), key(A, 'us-east-1', 1), { principal: alice });
change('RotateKey.json', at(1, 1, 41, 59), key(A, 'eu-west-1', 0));
change('RotateKey.json', at(2, 3, 12, 8), key(C, 'us-east-1', 0));

// Grants.
change('CreateGrant.json', at(0, 12, 53, 12), key(B, 'eu-west-1', 1), { principal: deployer });
const ec2Grants: Entry[] = [];
for (const [day, hh, mm] of [[0, 8, 20], [1, 9, 3], [2, 14, 47], [3, 7, 30]] as const) {
  const volume = `vol-0${hex(16)}`;
  ec2Grants.push(
    change('CreateGrant.via-ec2.json', at(day, hh, mm, int(60)), key(A, 'us-east-1', 1), {
      pairs: onto(key(A, 'us-east-1', 1), [
        ['vol-0a1b2c3d4e5f60718', volume],
        ['a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90', hex(64)],
      ]),
      principal: { ...bob, ip: 'ec2.amazonaws.com', ua: 'ec2.amazonaws.com', identity: (t) => ({ ...bob.identity(t), invokedBy: 'ec2.amazonaws.com' }) },
    }),
  );
}
change('RetireGrant.json', at(1, 11, 39, 33), key(B, 'eu-west-1', 1), { principal: deployer });
change('RetireGrant.json', at(3, 9, 2, 14), key(A, 'us-east-1', 1), { principal: awsService('ec2.amazonaws.com') });
change('RevokeGrant.json', at(2, 11, 35, 17), key(A, 'us-east-1', 1), { principal: alice });
{
  // Cross-account attempt: logged only in the caller's account (B), the key is A's.
  const k = key(A, 'us-east-1', 0);
  change('CreateGrant.AccessDenied.json', at(2, 10, 11, 3), k, {
    principal: dave,
    pairs: [['111122223333', A], ['444455556666', B], ...TEMPLATE_KEYS.map((x) => [x, k.keyId] as const)],
    error: { code: 'AccessDenied', message: `User: ${dave.arn} is not authorized to perform: kms:CreateGrant on resource: ${keyArn(k)} because no resource-based policy allows the kms:CreateGrant action`, resource: keyArn(k) },
  });
}

// Aliases.
change('CreateAlias.json', at(0, 23, 8, 31), key(A, 'us-east-1', 0), { principal: alice });
change('CreateAlias.json', at(0, 10, 0, 52), newKeys[0], { principal: deployer, pairs: onto(newKeys[0], [['alias/app-data', 'alias/orders-queue']]) });
change('CreateAlias.AlreadyExistsException.json', at(1, 4, 10, 58), key(B, 'eu-west-1', 0), {
  principal: deployer,
  pairs: onto(key(B, 'eu-west-1', 0), [['alias/app-data', 'alias/orders-queue']]),
  error: { code: 'AlreadyExistsException', message: `An alias with the name arn:aws:kms:eu-west-1:${B}:alias/orders-queue already exists`, resource: '' },
});
change('UpdateAlias.json', at(1, 21, 18, 15), key(A, 'us-east-1', 1), { principal: bob });
change('UpdateAlias.AccessDenied.json', at(3, 2, 15, 36), key(A, 'us-east-1', 0), {
  principal: mallory,
  error: { code: 'AccessDenied', resource: `arn:aws:kms:us-east-1:${A}:alias/app-data` },
});
change('DeleteAlias.json', at(2, 8, 2, 27), key(B, 'eu-west-1', 0), { principal: carol });

// Multi-Region key: replicate to eu-west-1, synchronize, then move the primary there.
change('ReplicateKey.json', at(0, 1, 29, 18), mrkPrimary, {
  principal: alice,
  pairs: [['us-east-1', 'us-east-1'], ['eu-west-1', 'eu-west-1'], ...TEMPLATE_ACCOUNTS.map((a) => [a, A] as const), ...TEMPLATE_KEYS.map((k) => [k, mrkId] as const)],
  edit: (r) => {
    obj(obj(r, 'responseElements'), 'replicaKeyMetadata')['creationDate'] = javaMedium(at(0, 1, 29, 18));
  },
});
change('SynchronizeMultiRegionKey.json', at(0, 2, 4, 37), mrkPrimary);
change('SynchronizeMultiRegionKey.json', at(2, 2, 4, 41), mrkPrimary);
{
  const pairs: Pairs = [['eu-west-1', 'us-east-1'], ['ap-southeast-2', 'eu-west-1'], ...TEMPLATE_ACCOUNTS.map((a) => [a, A] as const), ...TEMPLATE_KEYS.map((k) => [k, mrkId] as const)];
  change('UpdatePrimaryRegion.json', at(2, 20, 23, 37), { account: A, region: 'us-east-1', keyId: mrkId }, { principal: alice, pairs });
  const pairs2: Pairs = [['ap-southeast-2', 'eu-west-1'], ...TEMPLATE_ACCOUNTS.map((a) => [a, A] as const), ...TEMPLATE_KEYS.map((k) => [k, mrkId] as const)];
  change('UpdatePrimaryRegion.new-primary-no-resources.json', at(2, 20, 23, 37), { account: A, region: 'eu-west-1', keyId: mrkId }, {
    principal: { ...alice, identity: (t) => ({ ...alice.identity(t), invokedBy: 'kms.amazonaws.com' }) },
    pairs: pairs2,
  });
}

// New keys, descriptions, tags.
change('CreateKey.json', at(0, 10, 0, 34), newKeys[0], {
  principal: deployer,
  edit: (r) => {
    obj(obj(r, 'responseElements'), 'keyMetadata')['creationDate'] = javaMedium(at(0, 10, 0, 34));
  },
});
change('CreateKey.json', at(1, 3, 55, 12), newKeys[1], {
  principal: erin,
  edit: (r) => {
    obj(obj(r, 'responseElements'), 'keyMetadata')['creationDate'] = javaMedium(at(1, 3, 55, 12));
  },
});
change('CreateKey.json', at(2, 15, 0, 2), newKeys[2], {
  principal: bob,
  edit: (r) => {
    obj(obj(r, 'responseElements'), 'keyMetadata')['creationDate'] = javaMedium(at(2, 15, 0, 2));
  },
});
change('EnableKey.json', at(1, 3, 58, 40), newKeys[1], { principal: erin });
change('UpdateKeyDescription.json', at(1, 4, 22, 40), newKeys[0], { principal: deployer });
change('TagResource.json', at(0, 21, 19, 25), key(A, 'us-east-1', 0), { principal: alice });
change('TagResource.json', at(1, 3, 56, 1), newKeys[1], { principal: erin });
change('TagResource.json', at(2, 15, 1, 10), newKeys[2], { principal: bob });
change('UntagResource.json', at(0, 21, 19, 19), key(A, 'us-east-1', 0), { principal: alice });

// The waiting period of a key scheduled before the trail began ends: AWS deletes it.
change('DeleteKey.json', at(3, 0, 7, 0), doomedKey);

const changeCount = entries.length;

// ------------------------------------------------------------------------------------------
// Noise: cryptographic and read-only KMS calls, other services, and decoys

function noiseKms(time: number): void {
  const account = weighted([[5, A], [3, B], [2, C]] as const);
  const region = weighted([[5, 'us-east-1'], [3, 'eu-west-1'], [2, 'ap-southeast-2']] as const);
  const target = anyKey(account, region);
  const caller = (): Principal =>
    weighted([
      [6, pick(of(workloads, account))],
      [2, awsService(pick(['s3.amazonaws.com', 'secretsmanager.amazonaws.com', 'cloudtrail.amazonaws.com', 'logs.amazonaws.com']))],
      [1, pick(of(humans, account))],
    ] as const);
  const kind = weighted([
    [40, 'kms.Decrypt.json'],
    [25, 'kms.GenerateDataKey.json'],
    [10, 'kms.Encrypt.json'],
    [6, 'kms.DescribeKey.json'],
    [2, 'kms.ListAliases.json'],
    [2, 'kms.GetKeyPolicy.json'],
    [1, 'kms.Decrypt.AccessDenied.json'],
  ] as const);
  const p = kind === 'kms.DescribeKey.json' || kind === 'kms.GetKeyPolicy.json' || kind === 'kms.ListAliases.json' ? pick(of(humans, account)) : caller();
  const r = retarget(`negative/${kind}`, onto(target));
  if (kind === 'kms.Decrypt.AccessDenied.json') {
    r['errorMessage'] = `User: ${p.arn ?? p.ip} is not authorized to perform: kms:Decrypt on resource: ${keyArn(target)} because no identity-based policy allows the kms:Decrypt action`;
  }
  push(r, time, 'ignored', { principal: p });
}

interface OtherCall {
  readonly source: string;
  readonly name: string;
  readonly readOnly: boolean;
  readonly request: (account: string, region: string) => Json;
  readonly response: (account: string, region: string) => Json;
}
const OTHER: readonly (readonly [number, OtherCall])[] = [
  [10, { source: 'sts.amazonaws.com', name: 'AssumeRole', readOnly: true, request: (a) => ({ roleArn: `arn:aws:iam::${a}:role/reporting-batch`, roleSessionName: `i-0${hex(16)}`, durationSeconds: 3600 }), response: (a) => ({ credentials: { accessKeyId: `ASIA${upperAlnum(16)}`, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE', expiration: 'Nov 21, 2026, 1:00:00 AM' }, assumedRoleUser: { assumedRoleId: `AROA${upperAlnum(17)}:session`, arn: `arn:aws:sts::${a}:assumed-role/reporting-batch/session` } }) }],
  [6, { source: 'sts.amazonaws.com', name: 'GetCallerIdentity', readOnly: true, request: () => null, response: () => null }],
  [8, { source: 'ec2.amazonaws.com', name: 'DescribeInstances', readOnly: true, request: () => ({ instancesSet: {}, filterSet: {} }), response: () => null }],
  [3, { source: 'ec2.amazonaws.com', name: 'RunInstances', readOnly: false, request: () => ({ instancesSet: { items: [{ imageId: `ami-0${hex(16)}`, minCount: 1, maxCount: 1 }] }, instanceType: 't3.micro' }), response: () => ({ instancesSet: { items: [{ instanceId: `i-0${hex(16)}` }] } }) }],
  [3, { source: 'ec2.amazonaws.com', name: 'DescribeKeyPairs', readOnly: true, request: () => ({ keySet: {} }), response: () => null }],
  [6, { source: 's3.amazonaws.com', name: 'ListBuckets', readOnly: true, request: (_a, r) => ({ Host: `s3.${r}.amazonaws.com` }), response: () => null }],
  [4, { source: 's3.amazonaws.com', name: 'GetBucketEncryption', readOnly: true, request: (a, r) => ({ bucketName: `orders-archive-${a}`, Host: `orders-archive-${a}.s3.${r}.amazonaws.com`, encryption: '' }), response: () => null }],
  [2, { source: 's3.amazonaws.com', name: 'PutBucketTagging', readOnly: false, request: (a) => ({ bucketName: `orders-archive-${a}`, tagging: '' }), response: () => null }],
  [5, { source: 'iam.amazonaws.com', name: 'ListRoles', readOnly: true, request: () => ({ maxItems: 100 }), response: () => null }],
  [3, { source: 'iam.amazonaws.com', name: 'GetRole', readOnly: true, request: () => ({ roleName: 'orders-worker-role' }), response: () => null }],
  [1, { source: 'iam.amazonaws.com', name: 'TagRole', readOnly: false, request: () => ({ roleName: 'orders-worker-role', tags: [{ key: 'team', value: 'orders' }] }), response: () => null }],
  [5, { source: 'lambda.amazonaws.com', name: 'ListFunctions20150331', readOnly: true, request: () => null, response: () => null }],
  [3, { source: 'lambda.amazonaws.com', name: 'GetFunction20150331v2', readOnly: true, request: () => ({ functionName: 'orders-worker' }), response: () => null }],
  [2, { source: 'secretsmanager.amazonaws.com', name: 'GetSecretValue', readOnly: true, request: (a, r) => ({ secretId: `arn:aws:secretsmanager:${r}:${a}:secret:orders/db-password-AbCdEf` }), response: () => null }],
  [2, { source: 'logs.amazonaws.com', name: 'CreateLogStream', readOnly: false, request: () => ({ logGroupName: '/aws/lambda/orders-worker', logStreamName: `2026/11/20/[$LATEST]${hex(32)}` }), response: () => null }],
  [2, { source: 'kms.amazonaws.com', name: 'ListKeys', readOnly: true, request: () => ({ limit: 1000 }), response: () => null }],
  [1, { source: 'kms.amazonaws.com', name: 'GetKeyRotationStatus', readOnly: true, request: () => ({ keyId: uuid() }), response: () => null }],
];

function noiseOther(time: number): void {
  const account = weighted([[5, A], [3, B], [2, C]] as const);
  const region = weighted([[5, 'us-east-1'], [3, 'eu-west-1'], [2, 'ap-southeast-2']] as const);
  const call = weighted(OTHER);
  const p = weighted([[5, pick(of(workloads, account))], [3, pick(of(humans, account))]] as const);
  const host = call.source.replace('.amazonaws.com', '');
  const r: Rec = {
    eventVersion: '1.09',
    userIdentity: null,
    eventTime: '',
    eventSource: call.source,
    eventName: call.name,
    awsRegion: region,
    sourceIPAddress: '',
    userAgent: '',
    requestParameters: call.request(account, region),
    responseElements: call.response(account, region),
    requestID: '',
    eventID: '',
    readOnly: call.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `${host}.${region}.amazonaws.com` },
  };
  push(r, time, 'ignored', { principal: p });
}

/** Other services' events whose names collide with catalog events, and other look-alikes. */
function decoy(file: string, time: number, account: string, region: string, p: Principal | undefined, extra: Pairs = []): void {
  const r = retarget(`negative/${file}`, [...extra, ...TEMPLATE_ACCOUNTS.map((a) => [a, account] as const), ...TEMPLATE_REGIONS.map((x) => [x, region] as const)]);
  push(r, time, 'ignored', p === undefined ? {} : { principal: p });
}
decoy('ec2.CreateKeyPair.json', at(0, 17, 10, 34), A, 'us-east-1', alice);
decoy('ec2.CreateKeyPair.json', at(2, 9, 44, 2), C, 'ap-southeast-2', erin, [['bastion-2026', 'etl-debug']]);
decoy('secretsmanager.TagResource.json', at(1, 4, 12, 9), B, 'eu-west-1', deployer);
decoy('secretsmanager.TagResource.json', at(3, 12, 30, 55), A, 'us-east-1', bob);
decoy('ds.CreateAlias.json', at(1, 10, 44, 3), A, 'us-east-1', alice);
decoy('license-manager.CreateGrant.json', at(2, 13, 27, 55), A, 'us-east-1', alice);
decoy('cloudtrail-insight.kms.CreateGrant.json', at(3, 7, 31, 0), A, 'us-east-1', undefined);

// ------------------------------------------------------------------------------------------
// Fill to the target size, order by time, re-deliver three records (at-least-once)

const DUPLICATES = [ec2Grants[1], scheduleY, deniedDisable];
const noiseNeeded = TARGET_LINES - entries.length - DUPLICATES.length;
for (let i = 0; i < noiseNeeded; i++) {
  const time = START + Math.floor(rand() * (END - START));
  if (rand() < 0.58) noiseKms(time);
  else noiseOther(time);
}
for (const e of entries) if (e.time < START || e.time >= END) throw new Error(`record outside the window: ${iso(e.time)}`);

entries.sort((x, y) => x.time - y.time || x.seq - y.seq);
const redeliverAfter = new Map<number, Entry[]>();
for (const dup of DUPLICATES) {
  if (dup === undefined) throw new Error('missing duplicate');
  const index = entries.indexOf(dup);
  const later = Math.min(entries.length - 1, index + 5 + int(40));
  redeliverAfter.set(later, [...(redeliverAfter.get(later) ?? []), dup]);
}

// ------------------------------------------------------------------------------------------
// Write, computing the ground truth from what is written

const lines: string[] = [];
const seen = new Set<string>();
let duplicates = 0;
let matched = 0;
let ignored = 0;
const successes = new Map<string, number>();
const failures = new Map<string, number>();
const successSeries = new Map<string, number>();
const failureSeries = new Map<string, number>();
const pending = new Map<string, string>();
const bump = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};

function write(e: Entry): void {
  lines.push(e.line);
  if (seen.has(e.eventID)) {
    duplicates++;
    return;
  }
  seen.add(e.eventID);
  if (e.kind === 'ignored') {
    ignored++;
    return;
  }
  matched++;
  const name = e.eventName ?? '';
  const series = [name, e.account, e.region, e.principalType ?? ''].join('\u0000');
  if (e.errorCode === null) {
    bump(successes, name);
    bump(successSeries, series);
    if (e.pending?.action === 'schedule' && e.pending.deletionDate !== undefined) pending.set(e.pending.keyArn, e.pending.deletionDate);
    if (e.pending?.action === 'cancel') pending.delete(e.pending.keyArn);
  } else {
    bump(failures, `${name}\u0000${e.errorCode}`);
    bump(failureSeries, `${series}\u0000${e.errorCode}`);
  }
}
entries.forEach((e, i) => {
  write(e);
  for (const dup of redeliverAfter.get(i) ?? []) write(dup);
});

writeFileSync(OUT_TRAIL, gzipSync(Buffer.from(lines.join('\n') + '\n', 'utf8'), { level: 9 }));

const sortedObject = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
const truth = {
  description: 'Ground truth for examples/trail.jsonl.gz, computed by examples/make-trail.ts while writing it. Counts of changes and failures are over unique eventIDs (re-delivered copies excluded).',
  seed: SEED,
  window: { start: iso(START), end: iso(END) },
  totalRecords: lines.length,
  uniqueEventIds: seen.size,
  duplicateRecords: duplicates,
  duplicateEventIds: DUPLICATES.map((d) => d?.eventID),
  records: { matched, ignored, duplicate: duplicates, invalid: 0 },
  catalogChangeRecords: changeCount,
  successfulChanges: { total: [...successes.values()].reduce((a, b) => a + b, 0), byEventName: sortedObject(successes) },
  failedChanges: {
    total: [...failures.values()].reduce((a, b) => a + b, 0),
    byEventNameAndErrorCode: [...failures]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, count]) => {
        const [eventName, errorCode] = k.split('\u0000');
        return { eventName, errorCode, count };
      }),
  },
  successfulChangesBySeries: [...successSeries]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, count]) => {
      const [event_name, aws_account_id, aws_region, principal_type] = k.split('\u0000');
      return { event_name, aws_account_id, aws_region, principal_type, count };
    }),
  failedChangesBySeries: [...failureSeries]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, count]) => {
      const [event_name, aws_account_id, aws_region, principal_type, error_code] = k.split('\u0000');
      return { event_name, aws_account_id, aws_region, principal_type, error_code, count };
    }),
  pendingDeletionAtEnd: [...pending]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([arn, deletionDate]) => {
      const [, , , region, account, resource] = arn.split(':');
      return {
        keyArn: arn,
        keyId: resource?.replace(/^key\//, ''),
        aws_account_id: account,
        aws_region: region,
        deletionDate,
        deletionTimestampSeconds: Date.parse(deletionDate) / 1000,
      };
    }),
};
writeFileSync(OUT_TRUTH, JSON.stringify(truth, null, 2) + '\n');
process.stdout.write(
  `wrote ${OUT_TRAIL}: ${lines.length} records (${matched} catalog changes, ${ignored} ignored, ${duplicates} re-delivered), ${pending.size} key(s) pending deletion\n`,
);
