// Seeded generator of a realistic mixed CloudTrail trail (JSON Lines or S3 log files) with its ground truth.
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzip as gzipCb, createGzip } from 'node:zlib';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CATALOG } from '../src/catalog/kms-events.ts';
import type { CatalogEntry } from '../src/catalog/kms-events.ts';

/** Bumped whenever the records produced for a given seed change, so cached data is regenerated. */
export const GENERATOR_VERSION = 2;

export type TrailFormat = 'jsonl' | 's3';

export interface GenerateOptions {
  readonly records: number;
  readonly seed: number;
  readonly out: string;
  readonly format: TrailFormat;
  readonly gzip: boolean;
  /** Records per S3 log file. */
  readonly perFile: number;
}

export interface ChangeCount {
  succeeded: number;
  failed: number;
}

/** What the generated trail contains, for checking every tool that reads it. */
export interface TrailTruth {
  generatorVersion: number;
  seed: number;
  format: TrailFormat;
  gzip: boolean;
  perFile: number | null;
  out: string;
  /** For `s3`: every file written, relative to `out`, in time order. */
  files: string[];
  records: number;
  /** Uncompressed bytes of JSON (for `jsonl`: including the newlines). */
  bytes: number;
  /** Bytes on disk (differs from `bytes` when gzipped). */
  diskBytes: number;
  /** Records whose text contains `kms.amazonaws.com` (what `grep -F -c` counts on the JSON Lines file). */
  recordsMentioningKmsSource: number;
  kmsRecords: number;
  changes: { total: number; succeeded: number; failed: number };
  changesByEventName: Record<string, ChangeCount>;
  failuresByErrorCode: Record<string, number>;
  /** Records of other services, or KMS reads, that share a name or text with a change. */
  decoys: Record<string, number>;
  byEventSource: Record<string, number>;
  recordBytes: { min: number; max: number; mean: number; histogramKiB: Record<string, number> };
  firstEventTime: string;
  lastEventTime: string;
  generationSeconds: number;
}

// ---------------------------------------------------------------------------------------------
// PRNG: mulberry32, small and fast; everything below draws from it so a seed fixes the trail.

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}
let u32 = mulberry32(0);
/** S3 object names draw from their own stream, so a seed gives the same records in every format. */
let nameU32 = mulberry32(0);
function seedPrng(seed: number): void {
  u32 = mulberry32(seed);
  nameU32 = mulberry32(seed ^ 0x5eed5eed);
}
function rand(): number {
  return u32() / 4294967296;
}
function int(n: number): number {
  return Math.floor(rand() * n);
}
function pick<T>(items: readonly T[]): T {
  return items[int(items.length)]!;
}
function chance(p: number): boolean {
  return rand() < p;
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
function hex8(): string {
  const v = u32();
  return HEX2[v >>> 24]! + HEX2[(v >>> 16) & 255]! + HEX2[(v >>> 8) & 255]! + HEX2[v & 255]!;
}
function hex(n: number): string {
  let s = '';
  while (s.length < n) s += hex8();
  return s.slice(0, n);
}
function uuid(): string {
  const a = hex8();
  const b = hex8();
  const c = hex8();
  const d = hex8();
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${HEX2[(u32() & 0x3f) | 0x80]!}${c.slice(2, 4)}-${c.slice(4, 8)}${d}`;
}
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function upper(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += UPPER_ALNUM[u32() & 31]!;
  return s;
}
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function base64(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += B64[u32() & 63]!;
  return s;
}
function digits(n: number): string {
  let s = String(1 + int(9));
  while (s.length < n) s += String(int(10));
  return s;
}

/** Weighted choice over a fixed table, by cumulative weights. */
function weighted<T>(table: readonly (readonly [number, T])[]): () => T {
  const total = table.reduce((sum, [w]) => sum + w, 0);
  let acc = 0;
  const cumulative = table.map(([w]) => (acc += w / total));
  const values = table.map(([, v]) => v);
  return () => {
    const r = rand();
    for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]!) return values[i]!;
    return values[values.length - 1]!;
  };
}

// ---------------------------------------------------------------------------------------------
// Time: CloudTrail writes seconds-precision ISO timestamps, plus "MMM d, yyyy, h:mm:ss AM" strings
// inside request and response elements.

const START_MS = Date.UTC(2024, 4, 1, 0, 0, 0);
let clockMs = START_MS;
let cachedSecond = -1;
let cachedIso = '';
function eventTime(): string {
  const second = Math.floor(clockMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedIso = new Date(second * 1000).toISOString().slice(0, 19) + 'Z';
  }
  return cachedIso;
}
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function awsDate(ms: number, odd = false): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  const suffix = h < 12 ? 'AM' : 'PM';
  const date = `${MONTHS[d.getUTCMonth()]!} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
  // The odd form is the one seen in real ScheduleKeyDeletion records: 24-hour clock and AM/PM.
  if (odd) return `${date} ${String(h).padStart(2, '0')}:${mm}:${ss} ${suffix}`;
  return `${date}, ${h % 12 === 0 ? 12 : h % 12}:${mm}:${ss} ${suffix}`;
}

// ---------------------------------------------------------------------------------------------
// The organisation: accounts, regions, keys, aliases, principals, clients.

const REGIONS_WEIGHTED = weighted<string>([
  [40, 'us-east-1'],
  [12, 'us-east-2'],
  [14, 'us-west-2'],
  [14, 'eu-west-1'],
  [8, 'eu-central-1'],
  [5, 'ap-southeast-2'],
  [4, 'ap-northeast-1'],
  [3, 'sa-east-1'],
]);
const ALL_REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', 'ap-northeast-1', 'sa-east-1'];

interface Key {
  readonly id: string;
  readonly arn: string;
  readonly region: string;
  readonly multiRegion: boolean;
}
interface Alias {
  readonly name: string;
  readonly key: Key;
}
interface Principal {
  readonly type: string;
  readonly arn: string;
  /** The identity object up to where `invokedBy` would go. */
  readonly head: string;
  /** The rest of the identity object, closing brace included. */
  readonly tail: string;
  readonly console: boolean;
}
interface Account {
  readonly id: string;
  readonly name: string;
  readonly keys: Key[];
  readonly aliases: Alias[];
  readonly principals: Principal[];
  readonly adminPrincipals: Principal[];
  readonly buckets: string[];
  readonly tables: string[];
  readonly functions: string[];
  readonly stores: string[];
}

const ROLE_NAMES = [
  'app-payments-prod',
  'app-orders-prod',
  'lambda-exec-ingest',
  'eks-node-group-role',
  'ecs-task-reporting',
  'batch-etl-nightly',
  'data-lake-reader',
  'ci-deployer',
];
const ADMIN_ROLE_NAMES = [
  'AWSReservedSSO_AdministratorAccess_5f2c1e9a7b3d4c60',
  'AWSReservedSSO_PowerUserAccess_0c4b8a2e6d1f3957',
  'OrganizationAccountAccessRole',
  'terraform-apply',
  'platform-ops',
  'security-break-glass',
];
const HUMAN_SESSIONS = ['alice@example.com', 'bob.smith@example.com', 'chen.wei@example.com', 'dana', 'ravi.k@example.com', 'GitHubActions', 'terraform-run-8812'];
const USER_NAMES = ['svc-backup', 'legacy-etl', 'jenkins', 'ops-maria'];

const CLIENTS: readonly string[] = [
  'aws-sdk-java/2.25.40 Linux/5.10.215-203.850.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy',
  'Boto3/1.34.98 md/Botocore#1.34.98 ua/2.0 os/linux#5.10.215-203.850.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython exec-env/AWS_Lambda_python3.11 cfg/retry-mode#legacy Botocore/1.34.98',
  'aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/kms#1.31.1',
  'aws-sdk-js/3.569.0 ua/2.0 os/linux#5.10.215-203.850.amzn2.x86_64 lang/js md/nodejs#20.12.2 api/kms#3.569.0',
  'aws-sdk-nodejs/2.1613.0 linux/v18.20.2 exec-env/AWS_Lambda_nodejs18.x promise',
  'aws-sdk-java/1.12.710 Linux/5.15.0-1061-aws OpenJDK_64-Bit_Server_VM/11.0.23+9 java/11.0.23 scala/2.12.18 vendor/Eclipse_Adoptium cfg/retry-mode/standard',
  'aws-cli/2.15.43 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#kms.decrypt',
];
const ADMIN_CLIENTS: readonly string[] = [
  'APN/1.0 HashiCorp/1.0 Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.47.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 ua/2.0 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/kms#1.31.1',
  'aws-cli/2.15.43 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1018-aws md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off md/command#kms',
  'AWS Internal',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'aws-cdk/2.140.0 (+https://github.com/aws/aws-cdk) aws-sdk-js/3.569.0 ua/2.0 os/linux lang/js md/nodejs#20.12.2 api/cloudformation#3.569.0',
];
const ALIAS_NAMES = ['alias/payments-data', 'alias/orders', 'alias/data-lake', 'alias/backups', 'alias/app-secrets', 'alias/ebs-default', 'alias/logs', 'alias/signing-ecdsa'];

let IPS: string[] = [];
let ACCOUNTS: Account[] = [];
let ORG_ID = '';

function identityParts(head: string, tail: string, type: string, arn: string, console: boolean): Principal {
  return { type, arn, head, tail, console };
}

function assumedRole(account: string, role: string, session: string, console: boolean): Principal {
  const roleId = 'AROA' + upper(17);
  const arn = `arn:aws:sts::${account}:assumed-role/${role}/${session}`;
  const head = `{"type":"AssumedRole","principalId":"${roleId}:${session}","arn":"${arn}","accountId":"${account}","accessKeyId":"ASIA${upper(16)}"`;
  const creation = new Date(START_MS - int(3600) * 1000).toISOString().slice(0, 19) + 'Z';
  const tail =
    `,"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"${roleId}","arn":"arn:aws:iam::${account}:role/${role}","accountId":"${account}","userName":"${role}"},` +
    `"webIdFederationData":{},"attributes":{"creationDate":"${creation}","mfaAuthenticated":"${console ? 'true' : 'false'}"}${role.startsWith('eks') ? ',"ec2RoleDelivery":"2.0"' : ''}}}`;
  return identityParts(head, tail, 'AssumedRole', arn, console);
}

function buildOrganisation(): void {
  ORG_ID = 'o-' + hex(10);
  IPS = Array.from({ length: 240 }, () => (chance(0.85) ? `10.${int(256)}.${int(256)}.${1 + int(254)}` : `${52 + int(3)}.${int(256)}.${int(256)}.${1 + int(254)}`));
  ACCOUNTS = Array.from({ length: 24 }, (_, a) => {
    const id = digits(12);
    const keys: Key[] = Array.from({ length: 36 }, () => {
      const region = REGIONS_WEIGHTED();
      const multiRegion = chance(0.12);
      const keyId = multiRegion ? 'mrk-' + hex(32) : uuid();
      return { id: keyId, arn: `arn:aws:kms:${region}:${id}:key/${keyId}`, region, multiRegion };
    });
    const aliases = ALIAS_NAMES.map((name, i) => ({ name, key: keys[i]! }));
    const principals: Principal[] = [];
    for (const role of ROLE_NAMES) {
      for (let s = 0; s < 3; s++) principals.push(assumedRole(id, role, chance(0.5) ? `i-0${hex(16)}` : `${digits(19)}`, false));
    }
    const adminPrincipals: Principal[] = [];
    for (const role of ADMIN_ROLE_NAMES) {
      for (let s = 0; s < 2; s++) adminPrincipals.push(assumedRole(id, role, pick(HUMAN_SESSIONS), role.startsWith('AWSReserved')));
    }
    for (const user of USER_NAMES) {
      const arn = `arn:aws:iam::${id}:user/${user}`;
      const p = identityParts(`{"type":"IAMUser","principalId":"AIDA${upper(17)}","arn":"${arn}","accountId":"${id}","accessKeyId":"AKIA${upper(16)}"`, `,"userName":"${user}"}`, 'IAMUser', arn, false);
      principals.push(p);
      adminPrincipals.push(p);
    }
    const rootArn = `arn:aws:iam::${id}:root`;
    adminPrincipals.push(identityParts(`{"type":"Root","principalId":"${id}","arn":"${rootArn}","accountId":"${id}","accessKeyId":"ASIA${upper(16)}"`, `,"sessionContext":{"attributes":{"creationDate":"2024-04-30T23:12:09Z","mfaAuthenticated":"true"}}}`, 'Root', rootArn, true));
    const fedArn = `arn:aws:sts::${id}:federated-user/reporting-bot`;
    principals.push(identityParts(`{"type":"FederatedUser","principalId":"${id}:reporting-bot","arn":"${fedArn}","accountId":"${id}","accessKeyId":"ASIA${upper(16)}"`, `,"sessionContext":{"sessionIssuer":{"type":"IAMUser","principalId":"AIDA${upper(17)}","arn":"arn:aws:iam::${id}:user/federation-broker","accountId":"${id}","userName":"federation-broker"},"webIdFederationData":{},"attributes":{"creationDate":"2024-04-30T22:40:51Z","mfaAuthenticated":"false"}}}`, 'FederatedUser', fedArn, false));
    const name = ['payments', 'orders', 'data-lake', 'shared-services', 'security', 'sandbox'][a % 6]! + (a < 6 ? '-prod' : a < 12 ? '-staging' : a < 18 ? '-dev' : '-test');
    return {
      id,
      name,
      keys,
      aliases,
      principals,
      adminPrincipals,
      buckets: Array.from({ length: 6 }, (_, i) => `${name}-${['raw', 'curated', 'artifacts', 'logs', 'backups', 'exports'][i]!}-${id}`),
      tables: ['Orders', 'Payments', 'Sessions', 'Inventory', 'AuditLog'].map((t) => `${t}-${name}`),
      functions: ['ingest', 'enrich', 'notify', 'rotate-secrets', 'thumbnail'].map((f) => `${name}-${f}`),
      stores: ['cks-' + hex(17), 'cks-' + hex(17)],
    };
  });
  // Cross-account callers: a principal of account A using a key of account B.
  for (const account of ACCOUNTS) {
    const other = pick(ACCOUNTS);
    account.principals.push(identityParts(`{"type":"AWSAccount","principalId":"AROA${upper(17)}:${digits(19)}","accountId":"${other.id}"`, '}', 'AWSAccount', `arn:aws:iam::${other.id}:root`, false));
  }
}

function identity(p: Principal, invokedBy?: string): string {
  return invokedBy === undefined ? p.head + p.tail : `${p.head},"invokedBy":"${invokedBy}"${p.tail}`;
}
function serviceIdentity(service: string): string {
  return `{"type":"AWSService","invokedBy":"${service}"}`;
}
function tls(host: string): string {
  return chance(0.8)
    ? `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"${host}"}`
    : `,"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"${host}"}`;
}
function keyResource(account: string, arn: string): string {
  return `,"resources":[{"accountId":"${account}","type":"AWS::KMS::Key","ARN":"${arn}"}]`;
}
/** How callers name a key: bare id, key ARN, alias name or alias ARN. */
function keyRef(account: Account, key: Key): string {
  const r = rand();
  if (r < 0.4) return key.id;
  if (r < 0.78) return key.arn;
  const alias = account.aliases.find((a) => a.key === key);
  if (alias === undefined) return key.id;
  return r < 0.95 ? alias.name : `arn:aws:kms:${key.region}:${account.id}:${alias.name}`;
}

// ---------------------------------------------------------------------------------------------
// Record assembly from string pieces: JSON.stringify of whole records is several times slower.

interface Call {
  readonly identity: string;
  readonly source: string;
  readonly name: string;
  readonly region: string;
  readonly ip: string;
  readonly agent: string;
  /** `,"errorCode":...,"errorMessage":...` or ''. */
  readonly error: string;
  readonly request: string;
  readonly response: string;
  /** Fields between responseElements and requestID (additionalEventData...) with leading comma, or ''. */
  readonly extra: string;
  readonly readOnly: boolean;
  /** `,"resources":[...]` or ''. */
  readonly resources: string;
  readonly eventType: 'AwsApiCall' | 'AwsServiceEvent';
  readonly management: boolean;
  readonly account: string;
  /** Trailing fields (serviceEventDetails, tlsDetails, sessionCredentialFromConsole...) with leading commas, or ''. */
  readonly trailer: string;
}

function record(c: Call): string {
  const requestId = c.eventType === 'AwsServiceEvent' ? '' : `"requestID":"${uuid()}",`;
  return (
    `{"eventVersion":"${c.management ? '1.09' : '1.10'}","userIdentity":${c.identity},"eventTime":"${eventTime()}","eventSource":"${c.source}","eventName":"${c.name}",` +
    `"awsRegion":"${c.region}","sourceIPAddress":"${c.ip}","userAgent":"${c.agent}"${c.error},"requestParameters":${c.request},"responseElements":${c.response}${c.extra},` +
    `${requestId}"eventID":"${uuid()}","readOnly":${c.readOnly}${c.resources},"eventType":"${c.eventType}","managementEvent":${c.management},` +
    `"recipientAccountId":"${c.account}","eventCategory":"${c.management ? 'Management' : 'Data'}"${c.trailer}}`
  );
}

/** Who calls: a workload (directly, or an AWS service on its behalf), an admin, or a service principal. */
interface Caller {
  readonly identity: string;
  readonly ip: string;
  readonly agent: string;
  readonly tls: boolean;
  readonly arn: string;
  readonly console: boolean;
}
const VIA_SERVICES = ['s3.amazonaws.com', 'secretsmanager.amazonaws.com', 'ec2.amazonaws.com', 'rds.amazonaws.com', 'lambda.amazonaws.com', 'dynamodb.amazonaws.com', 'logs.amazonaws.com', 'sns.amazonaws.com'];
const SERVICE_PRINCIPALS = ['cloudtrail.amazonaws.com', 'ec2.amazonaws.com', 'autoscaling.amazonaws.com', 'elasticfilesystem.amazonaws.com', 'backup.amazonaws.com'];

function workloadCaller(account: Account, servicePrincipals: boolean): Caller {
  // Most cryptographic calls in a real trail are made by AWS services on a workload's behalf.
  const r = rand();
  if (r < 0.45) {
    const via = pick(VIA_SERVICES);
    const p = pick(account.principals);
    return { identity: identity(p, via), ip: via, agent: via, tls: false, arn: p.arn, console: false };
  }
  if (r < 0.55 && servicePrincipals) {
    const svc = pick(SERVICE_PRINCIPALS);
    return { identity: serviceIdentity(svc), ip: svc, agent: svc, tls: false, arn: svc, console: false };
  }
  const p = pick(account.principals);
  return { identity: identity(p), ip: pick(IPS), agent: pick(CLIENTS), tls: true, arn: p.arn, console: false };
}
/** A workload calling another service itself. */
function directCaller(account: Account): Caller {
  const p = pick(account.principals);
  return { identity: identity(p), ip: pick(IPS), agent: pick(CLIENTS), tls: true, arn: p.arn, console: false };
}
function adminCaller(account: Account): Caller {
  const p = pick(account.adminPrincipals);
  const agent = p.console ? (chance(0.5) ? 'AWS Internal' : ADMIN_CLIENTS[3]!) : pick(ADMIN_CLIENTS);
  return { identity: identity(p), ip: p.console && agent === 'AWS Internal' ? 'AWS Internal' : pick(IPS), agent, tls: agent !== 'AWS Internal', arn: p.arn, console: p.console };
}

function trailerFor(caller: Caller, host: string): string {
  let t = caller.tls ? tls(host) : '';
  if (caller.console) t += ',"sessionCredentialFromConsole":"true"';
  return t;
}

// ---------------------------------------------------------------------------------------------
// KMS reads and cryptographic calls: the bulk of any trail, never a change.

function encryptionContext(account: Account, region: string): string {
  const r = rand();
  if (r < 0.35) return `{"aws:s3:arn":"arn:aws:s3:::${pick(account.buckets)}/year=2024/month=05/day=0${1 + int(9)}/part-${hex(5)}-${uuid()}.c000.snappy.parquet"}`;
  if (r < 0.5) return `{"SecretARN":"arn:aws:secretsmanager:${region}:${account.id}:secret:prod/${pick(['db/orders', 'db/payments', 'api/stripe', 'kafka/sasl'])}-${base64(6).replace(/[+/]/g, 'x')}","SecretVersionId":"${uuid()}"}`;
  if (r < 0.62) return `{"aws:ebs:id":"vol-0${hex(16)}"}`;
  if (r < 0.72) return `{"aws:lambda:FunctionArn":"arn:aws:lambda:${region}:${account.id}:function:${pick(account.functions)}"}`;
  if (r < 0.82) {
    const table = pick(account.tables);
    return `{"tableName":"${table}","aws:dynamodb:tableName":"${table}","aws:dynamodb:subscriberId":"${account.id}"}`;
  }
  if (r < 0.9) return `{"aws:logs:arn":"arn:aws:logs:${region}:${account.id}:log-group:/aws/lambda/${pick(account.functions)}"}`;
  if (r < 0.95) return `{"aws:rds:db-id":"db-${upper(26)}"}`;
  return `{"aws:cloudtrail:arn":"arn:aws:cloudtrail:us-east-1:${ACCOUNTS[0]!.id}:trail/org-trail","aws:s3:arn":"arn:aws:s3:::org-trail-${ACCOUNTS[0]!.id}/AWSLogs/${ORG_ID}/${account.id}/CloudTrail/${region}/2024/05/01/${account.id}_CloudTrail_${region}_20240501T${String(int(24)).padStart(2, '0')}${String(int(12) * 5).padStart(2, '0')}Z_${base64(16).replace(/[+/]/g, 'q')}.json.gz"}`;
}

interface Tally {
  kmsRecords: number;
  decoys: Record<string, number>;
  failures: Record<string, number>;
  changes: Record<string, ChangeCount>;
}
let tally: Tally = { kmsRecords: 0, decoys: {}, failures: {}, changes: {} };
function decoy(kind: string): void {
  tally.decoys[kind] = (tally.decoys[kind] ?? 0) + 1;
}

function kmsRead(name: string): string {
  const account = pick(ACCOUNTS);
  const key = pick(account.keys);
  const region = key.region;
  // Only calls with an encryption context come from service principals (CloudTrail, EBS, Backup...).
  const listing = name === 'ListAliases' || name === 'ListKeys' || name === 'GenerateRandom';
  const contextual = name === 'Decrypt' || name === 'Encrypt' || name === 'ReEncrypt' || name.startsWith('GenerateDataKey');
  const caller = listing ? directCaller(account) : workloadCaller(account, contextual);
  let request: string;
  let resources = keyResource(account.id, key.arn);
  switch (name) {
    case 'Decrypt':
      request = `{${chance(0.3) ? `"keyId":"${key.arn}",` : ''}"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":${encryptionContext(account, region)}}`;
      break;
    case 'Encrypt':
      request = `{"keyId":"${keyRef(account, key)}","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":${encryptionContext(account, region)}}`;
      break;
    case 'GenerateDataKey':
    case 'GenerateDataKeyWithoutPlaintext':
      request = `{"keyId":"${keyRef(account, key)}","encryptionContext":${encryptionContext(account, region)},${chance(0.7) ? '"keySpec":"AES_256"' : '"numberOfBytes":32'}}`;
      break;
    case 'ReEncrypt': {
      const dest = pick(account.keys);
      request = `{"sourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT","destinationKeyId":"${dest.arn}","destinationEncryptionAlgorithm":"SYMMETRIC_DEFAULT","sourceEncryptionContext":${encryptionContext(account, region)},"destinationEncryptionContext":${encryptionContext(account, region)}}`;
      resources = `,"resources":[{"accountId":"${account.id}","type":"AWS::KMS::Key","ARN":"${key.arn}"},{"accountId":"${account.id}","type":"AWS::KMS::Key","ARN":"${dest.arn}"}]`;
      break;
    }
    case 'ListAliases':
    case 'ListKeys':
      // A paginated listing: later pages carry the long opaque marker.
      request = `{${name === 'ListAliases' && chance(0.3) ? `"keyId":"${key.id}",` : ''}"limit":${pick([50, 100, 1000])}${chance(0.3) || !caller.identity.includes('"AssumedRole"') ? `,"marker":"${base64(120 + int(60))}"` : ''}}`;
      resources = '';
      break;
    case 'GenerateRandom':
      request = `{"numberOfBytes":${pick([16, 32, 64])}${caller.identity.includes('"AssumedRole"') ? '' : `,"customKeyStoreId":"${pick(account.stores)}"`}}`;
      resources = '';
      break;
    case 'GetKeyPolicy':
    case 'ListKeyPolicies':
      request = `{"keyId":"${keyRef(account, key)}"${name === 'GetKeyPolicy' ? ',"policyName":"default"' : ''}}`;
      break;
    case 'Sign':
    case 'Verify':
      request = `{"keyId":"${key.arn}","messageType":"DIGEST","signingAlgorithm":"ECDSA_SHA_256"}`;
      break;
    case 'ListGrants':
      request = `{"keyId":"${key.arn}","limit":${pick([50, 100])}}`;
      break;
    default:
      request = `{"keyId":"${keyRef(account, key)}"}`;
  }
  let error = '';
  const r = rand();
  if (r < 0.004) {
    error = `,"errorCode":"AccessDenied","errorMessage":"User: ${caller.arn} is not authorized to perform: kms:${name} on resource: ${key.arn} because no identity-based policy allows the kms:${name} action"`;
    decoy('kms_read_failed');
  } else if (r < 0.006 && name === 'Decrypt') {
    error = ',"errorCode":"InvalidCiphertextException","errorMessage":"The ciphertext is invalid or was not encrypted with a key in this account."';
    decoy('kms_read_failed');
  } else if (r < 0.008) {
    error = ',"errorCode":"ThrottlingException","errorMessage":"Rate exceeded"';
    decoy('kms_read_failed');
  }
  tally.kmsRecords++;
  return record({
    identity: caller.identity,
    source: 'kms.amazonaws.com',
    name,
    region,
    ip: caller.ip,
    agent: caller.agent,
    error,
    request,
    response: 'null',
    extra: '',
    readOnly: true,
    resources,
    eventType: 'AwsApiCall',
    management: true,
    account: account.id,
    trailer: trailerFor(caller, `kms.${region}.amazonaws.com`) + (caller.tls ? '' : `,"sharedEventID":"${uuid()}"`),
  });
}

// ---------------------------------------------------------------------------------------------
// KMS configuration changes: every catalog event, some failed, AWS service events without a caller.

function keyPolicy(account: Account, admin: string): string {
  const s = (sid: string, principal: string, actions: string, extra = '') =>
    `{\\n    \\"Sid\\" : \\"${sid}\\",\\n    \\"Effect\\" : \\"Allow\\",\\n    \\"Principal\\" : {\\n      \\"AWS\\" : \\"${principal}\\"\\n    },\\n    \\"Action\\" : ${actions},\\n    \\"Resource\\" : \\"*\\"${extra}\\n  }`;
  const statements = [
    s('Enable IAM User Permissions', `arn:aws:iam::${account.id}:root`, '\\"kms:*\\"'),
    s(
      'Allow access for Key Administrators',
      admin,
      '[ \\"kms:Create*\\", \\"kms:Describe*\\", \\"kms:Enable*\\", \\"kms:List*\\", \\"kms:Put*\\", \\"kms:Update*\\", \\"kms:Revoke*\\", \\"kms:Disable*\\", \\"kms:Get*\\", \\"kms:Delete*\\", \\"kms:TagResource\\", \\"kms:UntagResource\\", \\"kms:ScheduleKeyDeletion\\", \\"kms:CancelKeyDeletion\\", \\"kms:RotateKeyOnDemand\\" ]',
    ),
  ];
  if (chance(0.6)) {
    statements.push(
      s(
        'Allow use of the key',
        `arn:aws:iam::${account.id}:role/${pick(ROLE_NAMES)}`,
        '[ \\"kms:Encrypt\\", \\"kms:Decrypt\\", \\"kms:ReEncrypt*\\", \\"kms:GenerateDataKey*\\", \\"kms:DescribeKey\\" ]',
        `,\\n    \\"Condition\\" : {\\n      \\"StringEquals\\" : {\\n        \\"kms:ViaService\\" : \\"s3.us-east-1.amazonaws.com\\",\\n        \\"kms:CallerAccount\\" : \\"${account.id}\\"\\n      }\\n    }`,
      ),
    );
  }
  return `{\\n  \\"Version\\" : \\"2012-10-17\\",\\n  \\"Id\\" : \\"key-consolepolicy-3\\",\\n  \\"Statement\\" : [ ${statements.join(', ')} ]\\n}`;
}

function keyMetadata(account: Account, key: Key, description: string, created: string): string {
  return (
    `{"aWSAccountId":"${account.id}","keyId":"${key.id}","arn":"${key.arn}","creationDate":"${created}","enabled":true,"description":"${description}",` +
    `"keyUsage":"ENCRYPT_DECRYPT","keyState":"Enabled","origin":"AWS_KMS","keyManager":"CUSTOMER","customerMasterKeySpec":"SYMMETRIC_DEFAULT","keySpec":"SYMMETRIC_DEFAULT",` +
    `"encryptionAlgorithms":["SYMMETRIC_DEFAULT"],"multiRegion":${key.multiRegion}${key.multiRegion ? `,"multiRegionConfiguration":{"multiRegionKeyType":"PRIMARY","primaryKey":{"arn":"${key.arn}","region":"${key.region}"},"replicaKeys":[]}` : ''}}`
  );
}

const DESCRIPTIONS = ['Payments data at rest', 'Orders service envelope key', 'Data lake bucket encryption', 'Backup vault key', 'Schlüssel für Zahlungsdaten (EU)', 'Clé de chiffrement — journaux', 'CI artifact signing'];
const FAILURE_CODES = weighted<string>([
  [85, 'AccessDenied'],
  [8, 'KMSInvalidStateException'],
  [5, 'NotFoundException'],
  [2, 'LimitExceededException'],
]);

function changeWeightFor(entry: CatalogEntry): number {
  const byName: Record<string, number> = { CreateGrant: 30, RetireGrant: 18, TagResource: 8, RotateKey: 6, CreateKey: 4, CreateAlias: 4, UpdateAlias: 3, RevokeGrant: 3, UntagResource: 2, PutKeyPolicy: 3, EnableKeyRotation: 2 };
  return byName[entry.eventName] ?? 1;
}

function kmsChange(entry: CatalogEntry): string {
  const name = entry.eventName;
  const account = pick(ACCOUNTS);
  let key = pick(account.keys);
  if ((name === 'ReplicateKey' || name === 'UpdatePrimaryRegion' || name === 'SynchronizeMultiRegionKey') && !key.multiRegion) {
    key = account.keys.find((k) => k.multiRegion) ?? key;
  }
  const region = key.region;
  const failed = !entry.serviceEvent && chance(0.08);
  const msNow = clockMs;
  tally.kmsRecords++;
  const count = (tally.changes[name] ??= { succeeded: 0, failed: 0 });

  if (entry.serviceEvent) {
    count.succeeded++;
    let extra = `,"additionalEventData":{"keyId":"${key.id}"}`;
    let details = `,"serviceEventDetails":{"keyId":"${key.id}"}`;
    if (name === 'SynchronizeMultiRegionKey') {
      const replicas = ALL_REGIONS.filter((r) => r !== region).slice(0, 1 + int(3));
      extra = `,"additionalEventData":{"primaryKeyArn":"${key.arn}","replicaKeyArns":[${replicas.map((r) => `"arn:aws:kms:${r}:${account.id}:key/${key.id}"`).join(',')}]}`;
      details = '';
    } else if (name === 'DeleteExpiredKeyMaterial') {
      extra = `,"additionalEventData":{"keyId":"${key.id}","keyMaterialId":"${hex(64)}"}`;
    } else if (name === 'RotateKey') {
      details = `,"serviceEventDetails":{"keyId":"${key.id}","rotationType":"${chance(0.8) ? 'AUTOMATIC' : 'ON_DEMAND'}","keyOrigin":"AWS_KMS"}`;
    }
    return record({
      identity: `{"accountId":"${account.id}","invokedBy":"kms.amazonaws.com"}`,
      source: 'kms.amazonaws.com',
      name,
      region,
      ip: 'kms.amazonaws.com',
      agent: 'kms.amazonaws.com',
      error: '',
      request: 'null',
      response: 'null',
      extra,
      readOnly: false,
      resources: keyResource(account.id, key.arn),
      eventType: 'AwsServiceEvent',
      management: true,
      account: account.id,
      trailer: `,"sharedEventID":"${uuid()}"${details}`,
    });
  }

  // Grants are mostly created and retired by AWS services on behalf of a workload.
  let caller: Caller;
  if ((name === 'CreateGrant' || name === 'RetireGrant') && chance(0.7)) {
    const via = pick(['ec2.amazonaws.com', 'rds.amazonaws.com', 'elasticfilesystem.amazonaws.com', 'secretsmanager.amazonaws.com']);
    if (name === 'RetireGrant' && chance(0.5)) caller = { identity: serviceIdentity(via), ip: via, agent: via, tls: false, arn: via, console: false };
    else {
      const p = pick(account.principals);
      caller = { identity: identity(p, via), ip: via, agent: via, tls: false, arn: p.arn, console: false };
    }
  } else {
    caller = adminCaller(account);
    // Custom key stores are run by platform roles, never by long-lived users.
    while (entry.subject === 'custom_key_store' && !caller.identity.includes('"AssumedRole"')) caller = adminCaller(account);
  }

  const ref = keyRef(account, key);
  let request = `{"keyId":"${ref}"}`;
  let response = 'null';
  let extra = '';
  let resources = keyResource(account.id, key.arn);
  switch (name) {
    case 'ScheduleKeyDeletion': {
      const days = pick([7, 7, 14, 30, 30, 30]);
      request = `{"keyId":"${ref}","pendingWindowInDays":${days}}`;
      response = `{"keyId":"${key.arn}","deletionDate":"${awsDate(msNow + days * 86_400_000, chance(0.3))}","keyState":"PendingDeletion","pendingWindowInDays":${days}}`;
      break;
    }
    case 'CancelKeyDeletion':
    case 'RotateKeyOnDemand':
      response = `{"keyId":"${key.arn}"}`;
      break;
    case 'PutKeyPolicy':
      request = `{"keyId":"${ref}","policyName":"default","policy":"${keyPolicy(account, caller.arn.replace(/^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.*$/, 'arn:aws:iam::$1:role/$2'))}","bypassPolicyLockoutSafetyCheck":false}`;
      break;
    case 'EnableKeyRotation':
      request = chance(0.5) ? `{"keyId":"${ref}","rotationPeriodInDays":${pick([90, 180, 365])}}` : request;
      break;
    case 'CreateGrant': {
      const grantee = chance(0.5) ? `arn:aws:iam::${account.id}:role/${pick(ROLE_NAMES)}` : account.id;
      const ebs = caller.agent === 'ec2.amazonaws.com';
      request =
        `{"keyId":"${ref}",${ebs ? `"constraints":{"encryptionContextSubset":{"aws:ebs:id":"vol-0${hex(16)}"}},` : ''}` +
        `"operations":["Decrypt","Encrypt","GenerateDataKeyWithoutPlaintext","ReEncryptFrom","ReEncryptTo","CreateGrant","RetireGrant","DescribeKey"],` +
        `"granteePrincipal":"${grantee}"${ebs ? `,"retiringPrincipal":"ec2.${region}.amazonaws.com"` : ''}}`;
      response = `{"grantId":"${hex(64)}","keyId":"${key.arn}"}`;
      break;
    }
    case 'RetireGrant':
      request = 'null';
      extra = `,"additionalEventData":{"grantId":"${hex(64)}"}`;
      break;
    case 'RevokeGrant':
      request = `{"keyId":"${ref}","grantId":"${hex(64)}"}`;
      break;
    case 'ImportKeyMaterial':
      request = `{"keyId":"${ref}","validTo":"${awsDate(msNow + 365 * 86_400_000)}","expirationModel":"KEY_MATERIAL_EXPIRES"}`;
      response = `{"keyId":"${key.arn}","keyMaterialId":"${hex(64)}"}`;
      break;
    case 'CreateAlias':
    case 'UpdateAlias':
    case 'DeleteAlias': {
      const alias = chance(0.5) ? pick(account.aliases).name : `alias/${pick(['team-a', 'orders', 'reports', 'ml-features', 'tmp'])}-${hex(6)}`;
      request = name === 'DeleteAlias' ? `{"aliasName":"${alias}"}` : `{"aliasName":"${alias}","targetKeyId":"${chance(0.5) ? key.id : key.arn}"}`;
      resources = `,"resources":[{"accountId":"${account.id}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:${region}:${account.id}:${alias}"},{"accountId":"${account.id}","type":"AWS::KMS::Key","ARN":"${key.arn}"}]`;
      break;
    }
    case 'ReplicateKey': {
      const replicaRegion = pick(ALL_REGIONS.filter((r) => r !== region));
      const replica: Key = { id: key.id, arn: `arn:aws:kms:${replicaRegion}:${account.id}:key/${key.id}`, region: replicaRegion, multiRegion: true };
      request = `{"keyId":"${key.arn}","replicaRegion":"${replicaRegion}","bypassPolicyLockoutSafetyCheck":false}`;
      response = `{"replicaKeyMetadata":${keyMetadata(account, replica, pick(DESCRIPTIONS), awsDate(msNow))},"replicaTags":[]}`;
      break;
    }
    case 'UpdatePrimaryRegion':
      request = `{"keyId":"${key.arn}","primaryRegion":"${pick(ALL_REGIONS.filter((r) => r !== region))}"}`;
      break;
    case 'CreateKey': {
      const description = pick(DESCRIPTIONS);
      request = `{"description":"${description}","keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS","bypassPolicyLockoutSafetyCheck":false,"tags":[{"tagKey":"team","tagValue":"${pick(['payments', 'platform', 'data'])}"},{"tagKey":"cost-center","tagValue":"${digits(4)}"}],"multiRegion":${key.multiRegion}}`;
      response = `{"keyMetadata":${keyMetadata(account, key, description, awsDate(msNow))}}`;
      break;
    }
    case 'TagResource':
      request = `{"keyId":"${ref}","tags":[{"tagKey":"${pick(['owner', 'team', 'data-classification', 'environment'])}","tagValue":"${pick(['confidential', 'payments', 'prod', 'alice@example.com'])}"}]}`;
      break;
    case 'UntagResource':
      request = `{"keyId":"${ref}","tagKeys":["${pick(['owner', 'team', 'temporary'])}"]}`;
      break;
    case 'UpdateKeyDescription':
      request = `{"keyId":"${ref}","description":"${pick(DESCRIPTIONS)}"}`;
      break;
    case 'CreateCustomKeyStore':
      request = chance(0.5)
        ? `{"customKeyStoreName":"ExampleKeyStore-${hex(4)}","cloudHsmClusterId":"cluster-${hex(11)}","trustAnchorCertificate":"<certificate string appears here>","keyStorePassword":"HIDDEN_DUE_TO_SECURITY_REASONS"}`
        : `{"customKeyStoreName":"xks-${hex(4)}","customKeyStoreType":"EXTERNAL_KEY_STORE","xksProxyUriEndpoint":"https://xks.${account.name}.example.com","xksProxyUriPath":"/kms/xks/v1","xksProxyConnectivity":"PUBLIC_ENDPOINT","xksProxyAuthenticationCredential":{"accessKeyId":"HIDDEN_DUE_TO_SECURITY_REASONS","rawSecretAccessKey":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`;
      response = `{"customKeyStoreId":"${pick(account.stores)}"}`;
      resources = '';
      break;
    case 'UpdateCustomKeyStore':
      request = `{"customKeyStoreId":"${pick(account.stores)}","newCustomKeyStoreName":"store-${hex(6)}"}`;
      resources = '';
      break;
    case 'ConnectCustomKeyStore':
    case 'DisconnectCustomKeyStore':
    case 'DeleteCustomKeyStore':
      request = `{"customKeyStoreId":"${pick(account.stores)}"}`;
      resources = '';
      break;
    default:
      // DisableKey, EnableKey, DisableKeyRotation, DeleteImportedKeyMaterial: keyId only, no response.
      break;
  }

  let error = '';
  if (failed) {
    const code = FAILURE_CODES();
    count.failed++;
    tally.failures[code] = (tally.failures[code] ?? 0) + 1;
    response = 'null';
    if (name === 'CreateKey') resources = '';
    const resource = resources === '' ? '*' : key.arn;
    const message =
      code === 'AccessDenied'
        ? `User: ${caller.arn} is not authorized to perform: kms:${name} on resource: ${resource} because no identity-based policy allows the kms:${name} action`
        : code === 'KMSInvalidStateException'
          ? `${key.arn} is pending deletion.`
          : code === 'NotFoundException'
            ? `Key '${key.arn}' does not exist`
            : 'The request was rejected because a quota was exceeded.';
    error = `,"errorCode":"${code}","errorMessage":"${message}"`;
  } else count.succeeded++;

  return record({
    identity: caller.identity,
    source: 'kms.amazonaws.com',
    name,
    region,
    ip: caller.ip,
    agent: caller.agent,
    error,
    request,
    response,
    extra,
    readOnly: false,
    resources,
    eventType: 'AwsApiCall',
    management: true,
    account: account.id,
    trailer: trailerFor(caller, `kms.${region}.amazonaws.com`),
  });
}

// ---------------------------------------------------------------------------------------------
// Other services: the rest of the trail, including names that also exist in KMS's catalog.

function other(kind: string): string {
  const account = pick(ACCOUNTS);
  let region = REGIONS_WEIGHTED();
  let caller = directCaller(account);
  let source = '';
  let name = '';
  let request = 'null';
  let response = 'null';
  let extra = '';
  let resources = '';
  let readOnly = true;
  let management = true;
  let trailer = '';
  let hostPrefix = '';
  switch (kind) {
    case 'sts.AssumeRole': {
      source = 'sts.amazonaws.com';
      name = 'AssumeRole';
      hostPrefix = 'sts';
      const role = pick(ROLE_NAMES);
      const session = chance(0.5) ? digits(19) : `${role}-${hex(8)}`;
      request = `{"roleArn":"arn:aws:iam::${account.id}:role/${role}","roleSessionName":"${session}","durationSeconds":3600}`;
      response = `{"credentials":{"accessKeyId":"ASIA${upper(16)}","sessionToken":"${base64(300 + int(300))}","expiration":"${awsDate(clockMs + 3_600_000)}"},"assumedRoleUser":{"assumedRoleId":"AROA${upper(17)}:${session}","arn":"arn:aws:sts::${account.id}:assumed-role/${role}/${session}"}}`;
      resources = `,"resources":[{"accountId":"${account.id}","type":"AWS::IAM::Role","ARN":"arn:aws:iam::${account.id}:role/${role}"}]`;
      trailer = `,"sharedEventID":"${uuid()}"`;
      break;
    }
    case 'sts.AssumeRoleWithWebIdentity': {
      source = 'sts.amazonaws.com';
      name = 'AssumeRoleWithWebIdentity';
      hostPrefix = 'sts';
      const sub = `system:serviceaccount:${pick(['payments', 'orders', 'kube-system'])}:${pick(['api', 'worker', 'external-dns', 'karpenter'])}`;
      const issuer = `oidc.eks.${region}.amazonaws.com/id/${hex(32).toUpperCase()}`;
      caller = { identity: `{"type":"WebIdentityUser","principalId":"arn:aws:iam::${account.id}:oidc-provider/${issuer}:sts.amazonaws.com:${sub}","userName":"${sub}","identityProvider":"arn:aws:iam::${account.id}:oidc-provider/${issuer}"}`, ip: pick(IPS), agent: CLIENTS[2]!, tls: true, arn: sub, console: false };
      request = `{"roleArn":"arn:aws:iam::${account.id}:role/${pick(ROLE_NAMES)}","roleSessionName":"${digits(19)}","durationSeconds":86400}`;
      response = `{"credentials":{"accessKeyId":"ASIA${upper(16)}","sessionToken":"${base64(400 + int(200))}","expiration":"${awsDate(clockMs + 86_400_000)}"},"subjectFromWebIdentityToken":"${sub}","audience":"sts.amazonaws.com","provider":"arn:aws:iam::${account.id}:oidc-provider/${issuer}"}`;
      break;
    }
    case 'sts.GetCallerIdentity':
      source = 'sts.amazonaws.com';
      name = 'GetCallerIdentity';
      hostPrefix = 'sts';
      break;
    case 's3.GetBucketAcl':
    case 's3.GetBucketEncryption':
    case 's3.GetBucketLocation':
    case 's3.GetBucketPolicy':
    case 's3.ListBuckets':
    case 's3.PutBucketEncryption':
    case 's3.GetObject':
    case 's3.PutObject': {
      source = 's3.amazonaws.com';
      name = kind.slice(3);
      const bucket = pick(account.buckets);
      const host = `${bucket}.s3.${region}.amazonaws.com`;
      management = name !== 'GetObject' && name !== 'PutObject';
      readOnly = name.startsWith('Get') || name.startsWith('List');
      const object = `year=2024/month=05/day=0${1 + int(9)}/part-${hex(5)}-${uuid()}.c000.snappy.parquet`;
      if (name === 'ListBuckets') request = `{"Host":"s3.${region}.amazonaws.com"}`;
      else if (name === 'PutBucketEncryption') {
        const key = pick(account.keys);
        request = `{"bucketName":"${bucket}","Host":"${host}","encryption":"","ServerSideEncryptionConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","Rule":{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"${key.arn}"},"BucketKeyEnabled":true}}}`;
      } else if (!management) {
        request = `{"bucketName":"${bucket}","Host":"${host}","key":"${object}"${name === 'PutObject' ? ',"x-amz-server-side-encryption":"aws:kms","x-amz-server-side-encryption-aws-kms-key-id":"' + pick(account.keys).arn + '"' : ''}}`;
        response = name === 'PutObject' ? `{"x-amz-server-side-encryption-aws-kms-key-id":"${pick(account.keys).arn}","x-amz-server-side-encryption":"aws:kms","x-amz-server-side-encryption-bucket-key-enabled":"true","x-amz-version-id":"${base64(32).replace(/[+/]/g, '_')}"}` : 'null';
      } else request = `{"bucketName":"${bucket}","Host":"${host}","${name.slice(9).toLowerCase() || 'acl'}":""}`;
      extra = `,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":${name === 'PutObject' ? 1024 + int(4_000_000) : 0},${name.includes('Object') ? '"SSEApplied":"SSE_KMS",' : ''}"AuthenticationMethod":"AuthHeader","x-amz-id-2":"${base64(76)}","bytesTransferredOut":${int(90_000)}}`;
      resources =
        name === 'ListBuckets'
          ? ''
          : management
            ? `,"resources":[{"accountId":"${account.id}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::${bucket}"}]`
            : `,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::${bucket}/${object}"},{"accountId":"${account.id}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::${bucket}"}]`;
      trailer = caller.tls ? `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"${host}"}` : '';
      if (name === 'PutBucketEncryption') decoy('s3_bucket_kms_encryption');
      break;
    }
    case 'ec2.DescribeInstances':
      source = 'ec2.amazonaws.com';
      name = 'DescribeInstances';
      hostPrefix = 'ec2';
      request = `{"instancesSet":{},"filterSet":{"items":[{"name":"tag:Name","valueSet":{"items":[{"value":"${pick(['web-*', 'worker-*', 'bastion'])}"}]}},{"name":"instance-state-name","valueSet":{"items":[{"value":"running"},{"value":"pending"}]}}]}}`;
      break;
    case 'ec2.DescribeVolumes':
    case 'ec2.DescribeSecurityGroups':
      source = 'ec2.amazonaws.com';
      name = kind.slice(4);
      hostPrefix = 'ec2';
      request = name === 'DescribeVolumes' ? `{"volumeSet":{"items":[{"volumeId":"vol-0${hex(16)}"}]},"filterSet":{}}` : `{"securityGroupSet":{},"securityGroupIdSet":{"items":[{"groupId":"sg-0${hex(16)}"}]},"filterSet":{}}`;
      break;
    case 'ec2.RunInstances': {
      source = 'ec2.amazonaws.com';
      name = 'RunInstances';
      hostPrefix = 'ec2';
      readOnly = false;
      const key = pick(account.keys);
      const instance = `i-0${hex(16)}`;
      request = `{"instancesSet":{"items":[{"imageId":"ami-0${hex(16)}","minCount":1,"maxCount":1}]},"blockDeviceMapping":{"items":[{"deviceName":"/dev/xvda","ebs":{"volumeSize":50,"deleteOnTermination":true,"volumeType":"gp3","encrypted":true,"kmsKeyId":"${key.arn}"}}]},"instanceType":"m7i.large","monitoring":{"enabled":false},"subnetId":"subnet-0${hex(16)}","disableApiTermination":false,"clientToken":"${uuid()}","tagSpecificationSet":{"items":[{"resourceType":"instance","tags":[{"key":"Name","value":"worker-${hex(4)}"}]}]}}`;
      response = `{"requestId":"${uuid()}","reservationId":"r-0${hex(16)}","ownerId":"${account.id}","groupSet":{},"instancesSet":{"items":[{"instanceId":"${instance}","imageId":"ami-0${hex(16)}","currentInstanceBootMode":"uefi","instanceState":{"code":0,"name":"pending"},"privateDnsName":"ip-10-0-${int(256)}-${int(256)}.ec2.internal","amiLaunchIndex":0,"productCodes":{},"instanceType":"m7i.large","launchTime":${clockMs},"placement":{"availabilityZone":"${region}a","tenancy":"default"},"monitoring":{"state":"disabled"},"subnetId":"subnet-0${hex(16)}","vpcId":"vpc-0${hex(16)}","privateIpAddress":"10.0.${int(256)}.${int(256)}","stateReason":{"code":"pending","message":"pending"},"architecture":"x86_64","rootDeviceType":"ebs","rootDeviceName":"/dev/xvda","blockDeviceMapping":{},"virtualizationType":"hvm","hypervisor":"xen","clientToken":"${uuid()}","groupSet":{"items":[{"groupId":"sg-0${hex(16)}","groupName":"default"}]},"sourceDestCheck":true,"networkInterfaceSet":{"items":[{"networkInterfaceId":"eni-0${hex(16)}","subnetId":"subnet-0${hex(16)}","vpcId":"vpc-0${hex(16)}","ownerId":"${account.id}","status":"in-use","macAddress":"0e:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}","privateIpAddress":"10.0.${int(256)}.${int(256)}","sourceDestCheck":true,"interfaceType":"interface"}]},"ebsOptimized":true,"enaSupport":true,"metadataOptions":{"state":"pending","httpTokens":"required","httpPutResponseHopLimit":2,"httpEndpoint":"enabled"},"maintenanceOptions":{"autoRecovery":"default"}}]}}`;
      break;
    }
    case 'ec2.CreateKeyPair':
    case 'ec2.DeleteKeyPair':
    case 'ec2.ImportKeyPair':
      source = 'ec2.amazonaws.com';
      name = kind.slice(4);
      hostPrefix = 'ec2';
      readOnly = false;
      caller = adminCaller(account);
      request = name === 'DeleteKeyPair' ? `{"keyName":"deploy-${hex(6)}","keyPairId":"key-0${hex(16)}"}` : `{"keyName":"deploy-${hex(6)}","keyType":"${pick(['rsa', 'ed25519'])}","keyFormat":"pem"}`;
      response = name === 'DeleteKeyPair' ? `{"requestId":"${uuid()}","_return":true,"keyPairId":"key-0${hex(16)}"}` : `{"requestId":"${uuid()}","keyName":"deploy-${hex(6)}","keyFingerprint":"${hex(40).replace(/(..)(?!$)/g, '$1:')}","keyPairId":"key-0${hex(16)}","keyMaterial":"<sensitiveDataRemoved>"}`;
      decoy('ec2_key_pair');
      break;
    case 'ec2.CreateTags':
      source = 'ec2.amazonaws.com';
      name = 'CreateTags';
      hostPrefix = 'ec2';
      readOnly = false;
      request = `{"resourcesSet":{"items":[{"resourceId":"vol-0${hex(16)}"}]},"tagSet":{"items":[{"key":"backup","value":"daily"},{"key":"team","value":"${pick(['payments', 'platform'])}"}]}}`;
      response = `{"requestId":"${uuid()}","_return":true}`;
      break;
    case 'iam.GetRole':
    case 'iam.ListAttachedRolePolicies':
    case 'iam.ListRoles':
      source = 'iam.amazonaws.com';
      name = kind.slice(4);
      region = 'us-east-1';
      hostPrefix = 'iam';
      request = name === 'ListRoles' ? `{"maxItems":100}` : `{"roleName":"${pick(ROLE_NAMES)}"}`;
      break;
    case 'iam.PutRolePolicy':
    case 'iam.CreatePolicy': {
      // Policy documents name KMS actions and the KMS service: text decoys for a raw-byte prefilter.
      source = 'iam.amazonaws.com';
      name = kind.slice(4);
      region = 'us-east-1';
      hostPrefix = 'iam';
      readOnly = false;
      caller = adminCaller(account);
      const doc = `{\\n  \\"Version\\": \\"2012-10-17\\",\\n  \\"Statement\\": [\\n    {\\n      \\"Effect\\": \\"Allow\\",\\n      \\"Action\\": [\\"kms:Decrypt\\", \\"kms:GenerateDataKey\\", \\"kms:CreateGrant\\", \\"kms:ScheduleKeyDeletion\\", \\"kms:PutKeyPolicy\\"],\\n      \\"Resource\\": \\"${pick(account.keys).arn}\\",\\n      \\"Condition\\": {\\"StringEquals\\": {\\"kms:ViaService\\": \\"kms.amazonaws.com\\"}, \\"Bool\\": {\\"kms:GrantIsForAWSResource\\": \\"true\\"}}\\n    }\\n  ]\\n}`;
      request = name === 'PutRolePolicy' ? `{"roleName":"${pick(ROLE_NAMES)}","policyName":"kms-access","policyDocument":"${doc}"}` : `{"policyName":"kms-admin-${hex(4)}","policyDocument":"${doc}","description":"KMS administration"}`;
      response = name === 'CreatePolicy' ? `{"policy":{"policyName":"kms-admin","policyId":"ANPA${upper(17)}","arn":"arn:aws:iam::${account.id}:policy/kms-admin","path":"/","defaultVersionId":"v1","attachmentCount":0,"permissionsBoundaryUsageCount":0,"isAttachable":true,"createDate":"${awsDate(clockMs)}","updateDate":"${awsDate(clockMs)}"}}` : 'null';
      decoy('iam_policy_mentions_kms_changes');
      break;
    }
    case 'lambda.ListFunctions20150331':
    case 'lambda.GetFunction20150331v2':
    case 'lambda.CreateAlias20150331':
    case 'lambda.UpdateAlias20150331':
    case 'lambda.TagResource20170331v2': {
      source = 'lambda.amazonaws.com';
      name = kind.slice(7);
      hostPrefix = 'lambda';
      const fn = pick(account.functions);
      if (name.startsWith('List')) request = 'null';
      else if (name.startsWith('Get')) request = `{"functionName":"${fn}"}`;
      else if (name.startsWith('Tag')) request = `{"resource":"arn:aws:lambda:${region}:${account.id}:function:${fn}","tags":{"team":"payments"}}`;
      else {
        readOnly = false;
        request = `{"functionName":"${fn}","name":"live","functionVersion":"${1 + int(40)}"}`;
        response = `{"aliasArn":"arn:aws:lambda:${region}:${account.id}:function:${fn}:live","name":"live","functionVersion":"${1 + int(40)}","description":"","revisionId":"${uuid()}"}`;
      }
      if (name.startsWith('Tag')) readOnly = false;
      if (!readOnly) decoy('lambda_alias_or_tag');
      break;
    }
    case 'dynamodb.DescribeTable':
    case 'dynamodb.ListTables':
    case 'dynamodb.TagResource':
    case 'dynamodb.UpdateTable': {
      source = 'dynamodb.amazonaws.com';
      name = kind.slice(9);
      hostPrefix = 'dynamodb';
      const table = pick(account.tables);
      const arn = `arn:aws:dynamodb:${region}:${account.id}:table/${table}`;
      if (name === 'ListTables') request = 'null';
      else if (name === 'DescribeTable') request = `{"tableName":"${table}"}`;
      else if (name === 'TagResource') {
        readOnly = false;
        request = `{"resourceArn":"${arn}","tags":[{"key":"team","value":"orders"}]}`;
        decoy('tag_resource_other_service');
      } else {
        readOnly = false;
        request = `{"tableName":"${table}","sSESpecification":{"enabled":true,"sSEType":"KMS","kMSMasterKeyId":"${pick(account.keys).arn}"}}`;
        response = `{"tableDescription":{"tableName":"${table}","tableStatus":"UPDATING","tableArn":"${arn}","tableId":"${uuid()}","sSEDescription":{"status":"UPDATING","sSEType":"KMS","kMSMasterKeyArn":"${pick(account.keys).arn}"}}}`;
      }
      if (name !== 'ListTables') resources = `,"resources":[{"accountId":"${account.id}","type":"AWS::DynamoDB::Table","ARN":"${arn}"}]`;
      break;
    }
    case 'secretsmanager.GetSecretValue':
    case 'secretsmanager.TagResource': {
      source = 'secretsmanager.amazonaws.com';
      name = kind.slice(15);
      hostPrefix = 'secretsmanager';
      const secret = `arn:aws:secretsmanager:${region}:${account.id}:secret:prod/${pick(['db/orders', 'db/payments', 'api/stripe'])}-${base64(6).replace(/[+/]/g, 'x')}`;
      request = name === 'TagResource' ? `{"secretId":"${secret}","tags":[{"key":"rotation","value":"30d"}]}` : `{"secretId":"${secret}"}`;
      if (name === 'TagResource') {
        readOnly = false;
        decoy('tag_resource_other_service');
      }
      break;
    }
    case 'sns.TagResource':
      source = 'sns.amazonaws.com';
      name = 'TagResource';
      hostPrefix = 'sns';
      readOnly = false;
      request = `{"resourceArn":"arn:aws:sns:${region}:${account.id}:alerts-${hex(4)}","tags":[{"key":"team","value":"sre"}]}`;
      decoy('tag_resource_other_service');
      break;
    case 'sqs.TagQueue':
    case 'sqs.SetQueueAttributes':
      source = 'sqs.amazonaws.com';
      name = kind.slice(4);
      hostPrefix = 'sqs';
      readOnly = false;
      request =
        name === 'TagQueue'
          ? `{"queueUrl":"https://sqs.${region}.amazonaws.com/${account.id}/jobs-${hex(4)}","tags":{"team":"orders"}}`
          : `{"queueUrl":"https://sqs.${region}.amazonaws.com/${account.id}/jobs-${hex(4)}","attributes":{"KmsMasterKeyId":"alias/aws/sqs","KmsDataKeyReusePeriodSeconds":"300"}}`;
      break;
    case 'logs.CreateLogStream':
    case 'logs.AssociateKmsKey': {
      source = 'logs.amazonaws.com';
      name = kind.slice(5);
      hostPrefix = 'logs';
      readOnly = false;
      const group = `/aws/lambda/${pick(account.functions)}`;
      request = name === 'CreateLogStream' ? `{"logGroupName":"${group}","logStreamName":"2024/05/01/[$LATEST]${hex(32)}"}` : `{"logGroupName":"${group}","kmsKeyId":"${pick(account.keys).arn}"}`;
      break;
    }
    case 'cloudhsm.DescribeClusters':
      // KMS calls CloudHSM for a custom key store: the record names kms.amazonaws.com but is not KMS's.
      source = 'cloudhsm.amazonaws.com';
      name = 'DescribeClusters';
      caller = { identity: `{"type":"AssumedRole","principalId":"AROA${upper(17)}:KMS-${hex(8)}","arn":"arn:aws:sts::${account.id}:assumed-role/AWSServiceRoleForKeyManagementServiceCustomKeyStores/KMS-${hex(8)}","accountId":"${account.id}","invokedBy":"kms.amazonaws.com"}`, ip: 'kms.amazonaws.com', agent: 'kms.amazonaws.com', tls: false, arn: '', console: false };
      request = `{"filters":{"clusterIds":["cluster-${hex(11)}"]}}`;
      decoy('invoked_by_kms');
      break;
    case 'payment-cryptography.CreateKey':
    case 'payment-cryptography.DeleteKey':
    case 'payment-cryptography.CreateAlias':
    case 'payment-cryptography.UpdateAlias':
    case 'payment-cryptography.TagResource': {
      source = 'controlplane.payment-cryptography.amazonaws.com';
      name = kind.slice(21);
      hostPrefix = 'controlplane.payment-cryptography';
      readOnly = false;
      caller = adminCaller(account);
      const keyArn = `arn:aws:payment-cryptography:${region}:${account.id}:key/${hex(16)}`;
      request = name.includes('Alias') ? `{"aliasName":"alias/issuer-${hex(4)}","keyArn":"${keyArn}"}` : name === 'CreateKey' ? `{"keyAttributes":{"keyUsage":"TR31_P0_PIN_ENCRYPTION_KEY","keyClass":"SYMMETRIC_KEY","keyAlgorithm":"TDES_3KEY","keyModesOfUse":{"encrypt":true,"decrypt":true,"wrap":true,"unwrap":true}},"exportable":true,"enabled":true}` : `{"keyIdentifier":"${keyArn}"}`;
      decoy('same_name_other_service');
      break;
    }
    case 'license-manager.CreateGrant':
      source = 'license-manager.amazonaws.com';
      name = 'CreateGrant';
      hostPrefix = 'license-manager';
      readOnly = false;
      caller = adminCaller(account);
      request = `{"clientToken":"${uuid()}","grantName":"windows-server","licenseArn":"arn:aws:license-manager::${account.id}:license:l-${hex(32)}","principals":["arn:aws:organizations::${ACCOUNTS[0]!.id}:organization/${ORG_ID}"],"homeRegion":"${region}","allowedOperations":["CreateGrant","CheckoutLicense","CheckInLicense","ExtendConsumptionLicense","ListPurchasedLicenses"]}`;
      decoy('same_name_other_service');
      break;
    case 'gamelift.CreateAlias':
      source = 'gamelift.amazonaws.com';
      name = 'CreateAlias';
      hostPrefix = 'gamelift';
      readOnly = false;
      caller = adminCaller(account);
      request = `{"name":"live-fleet","description":"Routes matchmaking to the current production fleet","routingStrategy":{"type":"SIMPLE","fleetId":"fleet-${uuid()}"}}`;
      decoy('same_name_other_service');
      break;
    default:
      throw new Error(`unknown kind ${kind}`);
  }
  if (hostPrefix !== '') trailer = trailerFor(caller, source === 'iam.amazonaws.com' ? 'iam.amazonaws.com' : `${hostPrefix}.${region}.amazonaws.com`) + trailer;
  let error = '';
  if (chance(0.01)) error = `,"errorCode":"AccessDenied","errorMessage":"User: ${caller.arn} is not authorized to perform: ${source.split('.')[0]}:${name.replace(/\d{8}(v\d)?$/, '')} because no identity-based policy allows the action"`;
  return record({ identity: caller.identity, source, name, region, ip: caller.ip, agent: caller.agent, error, request, response: error === '' ? response : 'null', extra, readOnly, resources, eventType: 'AwsApiCall', management, account: account.id, trailer });
}

// ---------------------------------------------------------------------------------------------
// The mix.

const KMS_READS = weighted<string>([
  [24, 'Decrypt'],
  [14, 'GenerateDataKey'],
  [5, 'Encrypt'],
  [5, 'DescribeKey'],
  [2, 'GenerateDataKeyWithoutPlaintext'],
  [1, 'ReEncrypt'],
  [2, 'ListAliases'],
  [1, 'ListKeys'],
  [1, 'GetKeyPolicy'],
  [0.5, 'ListKeyPolicies'],
  [1, 'GetKeyRotationStatus'],
  [1, 'ListGrants'],
  [0.8, 'ListResourceTags'],
  [0.5, 'Sign'],
  [0.3, 'Verify'],
  [0.4, 'GetPublicKey'],
  [0.5, 'GenerateRandom'],
]);
const OTHERS = weighted<string>([
  [6, 'sts.AssumeRole'],
  [1, 'sts.AssumeRoleWithWebIdentity'],
  [1.5, 'sts.GetCallerIdentity'],
  [2, 's3.GetBucketAcl'],
  [1, 's3.GetBucketEncryption'],
  [1.5, 's3.GetBucketLocation'],
  [0.5, 's3.GetBucketPolicy'],
  [1, 's3.ListBuckets'],
  [0.2, 's3.PutBucketEncryption'],
  [2, 's3.GetObject'],
  [1.5, 's3.PutObject'],
  [3, 'ec2.DescribeInstances'],
  [1.5, 'ec2.DescribeVolumes'],
  [1, 'ec2.DescribeSecurityGroups'],
  [0.3, 'ec2.RunInstances'],
  [0.3, 'ec2.CreateKeyPair'],
  [0.1, 'ec2.DeleteKeyPair'],
  [0.05, 'ec2.ImportKeyPair'],
  [0.8, 'ec2.CreateTags'],
  [1.2, 'iam.GetRole'],
  [0.6, 'iam.ListAttachedRolePolicies'],
  [0.5, 'iam.ListRoles'],
  [0.3, 'iam.PutRolePolicy'],
  [0.1, 'iam.CreatePolicy'],
  [0.8, 'lambda.ListFunctions20150331'],
  [0.8, 'lambda.GetFunction20150331v2'],
  [0.2, 'lambda.CreateAlias20150331'],
  [0.1, 'lambda.UpdateAlias20150331'],
  [0.1, 'lambda.TagResource20170331v2'],
  [1.5, 'dynamodb.DescribeTable'],
  [0.5, 'dynamodb.ListTables'],
  [0.1, 'dynamodb.TagResource'],
  [0.1, 'dynamodb.UpdateTable'],
  [2.5, 'secretsmanager.GetSecretValue'],
  [0.1, 'secretsmanager.TagResource'],
  [0.05, 'sns.TagResource'],
  [0.05, 'sqs.TagQueue'],
  [0.1, 'sqs.SetQueueAttributes'],
  [1, 'logs.CreateLogStream'],
  [0.05, 'logs.AssociateKmsKey'],
  [0.2, 'cloudhsm.DescribeClusters'],
  [0.05, 'payment-cryptography.CreateKey'],
  [0.03, 'payment-cryptography.DeleteKey'],
  [0.05, 'payment-cryptography.CreateAlias'],
  [0.02, 'payment-cryptography.UpdateAlias'],
  [0.03, 'payment-cryptography.TagResource'],
  [0.03, 'license-manager.CreateGrant'],
  [0.02, 'gamelift.CreateAlias'],
]);
const CHANGES = weighted<CatalogEntry>(CATALOG.map((entry) => [changeWeightFor(entry), entry] as const));

export const SHARE_KMS_READS = 0.6;
export const SHARE_CHANGES = 0.015;

let changeIndex = 0;
function nextRecord(): string {
  clockMs += int(173); // about 11.5 records/s: 1,000,000 records span a day
  const r = rand();
  if (r < SHARE_KMS_READS) return kmsRead(KMS_READS());
  if (r < SHARE_KMS_READS + SHARE_CHANGES) {
    // The first 31 changes walk the catalog so every name appears in any trail of a few thousand records.
    const entry = changeIndex < CATALOG.length ? CATALOG[changeIndex]! : CHANGES();
    changeIndex++;
    return kmsChange(entry);
  }
  return other(OTHERS());
}

// ---------------------------------------------------------------------------------------------
// Output.

const gzipAsync = promisify(gzipCb);

interface Stats {
  records: number;
  bytes: number;
  mentions: number;
  min: number;
  max: number;
  histogram: Record<string, number>;
  bySource: Record<string, number>;
  firstTime: string;
  lastTime: string;
}

function observe(stats: Stats, rec: string): number {
  const size = Buffer.byteLength(rec);
  stats.records++;
  if (size < stats.min) stats.min = size;
  if (size > stats.max) stats.max = size;
  const bucket = `${Math.floor(size / 1024)}-${Math.floor(size / 1024) + 1}`;
  stats.histogram[bucket] = (stats.histogram[bucket] ?? 0) + 1;
  if (rec.includes('kms.amazonaws.com')) stats.mentions++;
  const at = rec.indexOf('"eventSource":"') + 15;
  const source = rec.slice(at, rec.indexOf('"', at));
  stats.bySource[source] = (stats.bySource[source] ?? 0) + 1;
  if (stats.firstTime === '') stats.firstTime = eventTime();
  stats.lastTime = eventTime();
  return size;
}

async function writeJsonl(options: GenerateOptions, stats: Stats): Promise<number> {
  const CHUNK = 1 << 20;
  async function* chunks(): AsyncGenerator<string> {
    let chunk = '';
    for (let i = 0; i < options.records; i++) {
      const rec = nextRecord();
      stats.bytes += observe(stats, rec) + 1;
      chunk += rec + '\n';
      if (chunk.length >= CHUNK) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk !== '') yield chunk;
  }
  const file = createWriteStream(options.out, { highWaterMark: 4 << 20 });
  if (options.gzip) {
    await pipeline(Readable.from(chunks(), { objectMode: false }), createGzip({ level: 6 }), file);
  } else {
    // Manual loop with explicit backpressure: Readable.from adds a copy we do not need here.
    for await (const chunk of chunks()) {
      if (!file.write(chunk)) await once(file, 'drain');
    }
    file.end();
    await once(file, 'finish');
  }
  return file.bytesWritten;
}

function objectSuffix(): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += B64[nameU32() % 62]!;
  return s;
}

async function writeS3(options: GenerateOptions, stats: Stats, files: string[]): Promise<number> {
  let disk = 0;
  const inFlight = new Set<Promise<void>>();
  const madeDirs = new Set<string>();
  let written = 0;
  while (written < options.records) {
    const n = Math.min(options.perFile, options.records - written);
    const parts: string[] = new Array<string>(n);
    let firstAccount = '';
    let firstRegion = '';
    const stamp = eventTime();
    for (let i = 0; i < n; i++) {
      const rec = nextRecord();
      stats.bytes += observe(stats, rec) + (i === 0 ? 0 : 1);
      parts[i] = rec;
      if (i === 0) {
        firstAccount = rec.slice(rec.indexOf('"recipientAccountId":"') + 22, rec.indexOf('"recipientAccountId":"') + 34);
        const at = rec.indexOf('"awsRegion":"') + 13;
        firstRegion = rec.slice(at, rec.indexOf('"', at));
      }
    }
    written += n;
    const body = `{"Records":[${parts.join(',')}]}`;
    stats.bytes += 14;
    const [y, m, d] = [stamp.slice(0, 4), stamp.slice(5, 7), stamp.slice(8, 10)];
    const rel = `AWSLogs/${ORG_ID}/${firstAccount}/CloudTrail/${firstRegion}/${y}/${m}/${d}/${firstAccount}_CloudTrail_${firstRegion}_${y}${m}${d}T${stamp.slice(11, 13)}${stamp.slice(14, 16)}Z_${objectSuffix()}.json${options.gzip ? '.gz' : ''}`;
    files.push(rel);
    const path = join(options.out, rel);
    const dir = dirname(path);
    const job = (async () => {
      if (!madeDirs.has(dir)) {
        madeDirs.add(dir);
        await mkdir(dir, { recursive: true });
      }
      const data = options.gzip ? await gzipAsync(body, { level: 6 }) : Buffer.from(body);
      disk += data.length;
      await writeFile(path, data);
    })();
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
    // Compression runs on the libuv pool: keep both cores busy, but bound memory.
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return disk;
}

export function truthPath(out: string): string {
  return out.replace(/\/+$/, '') + '.truth.json';
}

export async function generateTrail(options: GenerateOptions): Promise<TrailTruth> {
  const started = performance.now();
  seedPrng(options.seed);
  clockMs = START_MS;
  cachedSecond = -1;
  changeIndex = 0;
  tally = { kmsRecords: 0, decoys: {}, failures: {}, changes: {} };
  buildOrganisation();
  const stats: Stats = { records: 0, bytes: 0, mentions: 0, min: Infinity, max: 0, histogram: {}, bySource: {}, firstTime: '', lastTime: '' };
  const files: string[] = [];
  await mkdir(options.format === 's3' ? options.out : dirname(options.out), { recursive: true });
  const diskBytes = options.format === 's3' ? await writeS3(options, stats, files) : await writeJsonl(options, stats);

  const changesByEventName: Record<string, ChangeCount> = {};
  let succeeded = 0;
  let failed = 0;
  for (const entry of CATALOG) {
    const c = tally.changes[entry.eventName] ?? { succeeded: 0, failed: 0 };
    changesByEventName[entry.eventName] = c;
    succeeded += c.succeeded;
    failed += c.failed;
  }
  const sortedHistogram = Object.fromEntries(Object.entries(stats.histogram).sort(([a], [b]) => parseInt(a) - parseInt(b)));
  const truth: TrailTruth = {
    generatorVersion: GENERATOR_VERSION,
    seed: options.seed,
    format: options.format,
    gzip: options.gzip,
    perFile: options.format === 's3' ? options.perFile : null,
    out: options.out,
    files,
    records: stats.records,
    bytes: stats.bytes,
    diskBytes,
    recordsMentioningKmsSource: stats.mentions,
    kmsRecords: tally.kmsRecords,
    changes: { total: succeeded + failed, succeeded, failed },
    changesByEventName,
    failuresByErrorCode: tally.failures,
    decoys: tally.decoys,
    byEventSource: Object.fromEntries(Object.entries(stats.bySource).sort(([, a], [, b]) => b - a)),
    recordBytes: { min: stats.min, max: stats.max, mean: Math.round((stats.bytes - stats.records) / stats.records), histogramKiB: sortedHistogram },
    firstEventTime: stats.firstTime,
    lastEventTime: stats.lastTime,
    generationSeconds: Math.round((performance.now() - started) / 10) / 100,
  };
  await writeFile(truthPath(options.out), JSON.stringify(truth, null, 2) + '\n');
  return truth;
}

function usage(): string {
  return 'usage: node bench/generate-trail.ts --records N --seed S --out PATH [--format jsonl|s3] [--gzip] [--per-file N]';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '42' },
      out: { type: 'string' },
      format: { type: 'string', default: 'jsonl' },
      gzip: { type: 'boolean', default: false },
      'per-file': { type: 'string', default: '1000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage() + '\n');
    return;
  }
  const records = Number(values.records);
  const seed = Number(values.seed);
  const perFile = Number(values['per-file']);
  const format = values.format;
  if (values.out === undefined) throw new Error(`--out is required\n${usage()}`);
  if (!Number.isSafeInteger(records) || records < 1) throw new Error(`--records must be a positive integer, got ${values.records}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  if (!Number.isSafeInteger(perFile) || perFile < 1) throw new Error(`--per-file must be a positive integer, got ${values['per-file']}`);
  if (format !== 'jsonl' && format !== 's3') throw new Error(`--format must be jsonl or s3, got ${format}`);
  const truth = await generateTrail({ records, seed, out: values.out, format, gzip: values.gzip, perFile });
  const { files, ...summary } = truth;
  process.stdout.write(JSON.stringify({ ...summary, files: files.length }, null, 2) + '\n');
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`generate-trail: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
