// The AWS organisation a trail is drawn from: accounts with their keys by Region, custom key stores, workloads and people.

import type { Principal } from './principals.ts';
import { BOTO, BROWSER, CDK, CLI, CONSOLE, GO_SDK, JAVA_SDK, NODE_SDK, TERRAFORM, assumedRole, federatedUser, iamUser, otherAccount, root } from './principals.ts';
import type { Random, WeightTable } from './random.ts';
import type { Target } from './templates.ts';

export interface Account {
  readonly id: string;
  readonly name: string;
  /** Single-Region keys by Region; every Region of the organisation has at least one. */
  readonly keys: ReadonlyMap<string, readonly Target[]>;
  /** Multi-Region primary keys (mrk-…), for ReplicateKey, UpdatePrimaryRegion and SynchronizeMultiRegionKey. */
  readonly multiRegionKeys: readonly Target[];
  /** Custom key store ids (cks-…), each in `storeRegion`. */
  readonly customKeyStores: readonly string[];
  readonly storeRegion: string;
  /** Applications: the callers of cryptographic operations and other services' APIs. */
  readonly workloads: readonly Principal[];
  /** People, pipelines and break-glass users: the callers of configuration changes. */
  readonly humans: readonly Principal[];
}

export interface Organisation {
  /** o-…, the organisation trail's path prefix in S3. */
  readonly id: string;
  readonly accounts: readonly Account[];
  /** How often each account appears in the trail. */
  readonly accountWeights: WeightTable<Account>;
  /** How often each Region appears. */
  readonly regionWeights: WeightTable<string>;
}

export function keysIn(account: Account, region: string): readonly Target[] {
  const keys = account.keys.get(region);
  if (keys === undefined || keys.length === 0) throw new Error(`no key in ${account.id}/${region}`);
  return keys;
}

/** Regions other than `region`, in the organisation's order. */
export function otherRegions(org: Organisation, region: string): string[] {
  return org.regionWeights.map(([, r]) => r).filter((r) => r !== region);
}

export interface OrganisationShape {
  readonly accounts: number;
  readonly regionWeights: WeightTable<string>;
  readonly keysPerRegion: number;
  readonly multiRegionKeys: number;
}

const ACCOUNT_NAMES = ['payments', 'orders', 'data-lake', 'shared-services', 'security', 'sandbox'];
const STAGES = ['prod', 'staging', 'dev', 'test'];
const WORKLOAD_ROLES = ['app-payments-prod', 'app-orders-prod', 'lambda-exec-ingest', 'eks-node-group-role', 'ecs-task-reporting', 'batch-etl-nightly', 'data-lake-reader', 'ci-deployer'];
const ADMIN_ROLES = ['AWSReservedSSO_AdministratorAccess_5f2c1e9a7b3d4c60', 'AWSReservedSSO_PowerUserAccess_0c4b8a2e6d1f3957', 'OrganizationAccountAccessRole', 'terraform-apply', 'platform-ops', 'security-break-glass'];
const SESSIONS = ['alice@example.com', 'bob.smith@example.com', 'chen.wei@example.com', 'dana', 'ravi.k@example.com', 'GitHubActions', 'terraform-run-8812'];
const USERS = ['svc-backup', 'legacy-etl', 'jenkins', 'ops-maria'];
const WORKLOAD_AGENTS = [JAVA_SDK, BOTO, GO_SDK, NODE_SDK];
const ADMIN_AGENTS = [TERRAFORM, CLI, CONSOLE, BROWSER, CDK];

/** A large organisation drawn from `random`: many accounts, keys in every Region, many callers. */
export function randomOrganisation(random: Random, shape: OrganisationShape): Organisation {
  const regions = shape.regionWeights.map(([, r]) => r);
  const privateIp = (): string => `10.${random.int(256)}.${random.int(256)}.${1 + random.int(254)}`;
  const publicIp = (): string => `${52 + random.int(3)}.${random.int(256)}.${random.int(256)}.${1 + random.int(254)}`;
  const accountIds = new Set<string>();
  while (accountIds.size < shape.accounts) accountIds.add(String(100_000_000_000 + random.int(900_000_000_000)));
  const ids = [...accountIds];
  const accounts = ids.map((id, a): Account => {
    const keys = new Map<string, Target[]>(regions.map((region) => [region, Array.from({ length: shape.keysPerRegion }, () => ({ account: id, region, keyId: random.uuid() }))]));
    const storeRegion = random.weighted(shape.regionWeights);
    const workloads: Principal[] = [];
    for (const role of WORKLOAD_ROLES) {
      for (let s = 0; s < 3; s++) {
        const session = random.chance(0.5) ? `i-0${random.hex(16)}` : `${1 + random.int(9)}${random.chars(18, '0123456789')}`;
        workloads.push(assumedRole(random, id, role, session, privateIp(), random.pick(WORKLOAD_AGENTS)));
      }
    }
    workloads.push(federatedUser(random, id, 'reporting-bot', 'federation-broker', privateIp(), BOTO));
    // A principal of another account using this account's keys.
    workloads.push(otherAccount(random, random.pick(ids), publicIp(), random.pick(WORKLOAD_AGENTS)));
    const humans: Principal[] = [];
    for (const role of ADMIN_ROLES) {
      for (let s = 0; s < 2; s++) {
        const path = role.startsWith('AWSReservedSSO') ? '/aws-reserved/sso.amazonaws.com/' : '/';
        const agent = random.pick(ADMIN_AGENTS);
        humans.push(assumedRole(random, id, role, random.pick(SESSIONS), agent === CONSOLE ? CONSOLE : publicIp(), agent, path));
      }
    }
    for (const user of USERS) {
      const p = iamUser(random, id, user, privateIp(), random.pick(ADMIN_AGENTS.slice(0, 2)));
      workloads.push(p);
      humans.push(p);
    }
    humans.push(root(random, id, publicIp()));
    const name = `${ACCOUNT_NAMES[a % ACCOUNT_NAMES.length]}-${STAGES[Math.floor(a / ACCOUNT_NAMES.length) % STAGES.length]}`;
    return {
      id,
      name,
      keys,
      multiRegionKeys: Array.from({ length: shape.multiRegionKeys }, () => ({ account: id, region: random.weighted(shape.regionWeights), keyId: `mrk-${random.hex(32)}` })),
      customKeyStores: [`cks-${random.hex(17)}`, `cks-${random.hex(17)}`],
      storeRegion,
      workloads,
      humans,
    };
  });
  return {
    id: `o-${random.hex(10)}`,
    accounts,
    accountWeights: accounts.map((account) => [1, account] as const),
    regionWeights: shape.regionWeights,
  };
}
