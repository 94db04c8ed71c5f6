// The example trail's scenario: three accounts, their keys and people, and a story that makes every catalog event happen.
//
// This is examples/trail.jsonl.gz (written by examples/make-trail.ts): 2,000 records over four days,
// 60 catalog changes placed by hand among noise drawn at random. Tests and a golden file depend on
// its exact bytes: any change to the draws below, or to the fixtures, changes the file.

import type { Mix, Story, Trail, TrailSpec } from '../generate.ts';
import type { Account, Organisation } from '../organisation.ts';
import type { Principal } from '../principals.ts';
import { BOTO, CLI, CONSOLE, NODE_SDK, TERRAFORM, assumedRole, awsService, iamUser, root, through } from '../principals.ts';
import type { Random } from '../random.ts';
import type { Entry } from '../records.ts';
import { TEMPLATE_ACCOUNTS, TEMPLATE_KEYS, keyArn, obj, onto } from '../templates.ts';
import type { Pairs, Target } from '../templates.ts';
import { DAY, HOUR, MINUTE, iso, javaMedium, kmsDoc24h } from '../time.ts';

export const EXAMPLE_SEED = 0x4b4d5307;
export const EXAMPLE_START = Date.parse('2026-11-20T00:00:00Z');
export const EXAMPLE_END = Date.parse('2026-11-24T00:00:00Z');
export const EXAMPLE_RECORDS = 2000;

const A = '111122223333'; // production
const B = '444455556666'; // platform / CI
const C = '777788889999'; // data
const ACCOUNTS = [A, B, C] as const;
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;

/** day 0 is 2026-11-20 (UTC). */
function at(day: number, hh: number, mm: number, ss: number): number {
  return EXAMPLE_START + day * DAY + hh * HOUR + mm * MINUTE + ss * 1000;
}

interface People {
  readonly alice: Principal;
  readonly mallory: Principal;
  readonly bob: Principal;
  readonly rootA: Principal;
  readonly carol: Principal;
  readonly deployer: Principal;
  readonly dave: Principal;
  readonly erin: Principal;
  readonly ci: Principal;
  readonly rootC: Principal;
}

export interface ExampleOrganisation extends Organisation {
  readonly people: People;
}

function organisation(random: Random): ExampleOrganisation {
  const inventory = new Map<string, Map<string, Target[]>>();
  for (const account of ACCOUNTS) {
    const byRegion = new Map<string, Target[]>();
    for (const region of REGIONS) byRegion.set(region, [0, 1].map(() => ({ account, region, keyId: random.uuid() })));
    inventory.set(account, byRegion);
  }
  const people: People = {
    alice: iamUser(random, A, 'Alice', '192.0.2.10', CONSOLE),
    mallory: iamUser(random, A, 'mallory', '203.0.113.200', CLI),
    bob: assumedRole(random, A, 'KeyAdmin', 'bob', '192.0.2.44', CLI),
    rootA: root(random, A, '203.0.113.77'),
    carol: assumedRole(random, B, 'AWSReservedSSO_AdministratorAccess_0123456789abcdef', 'carol@example.com', '198.51.100.24', CONSOLE, '/aws-reserved/sso.amazonaws.com/eu-west-1/'),
    deployer: assumedRole(random, B, 'terraform-deployer', 'GitHubActions', '198.51.100.133', TERRAFORM),
    dave: assumedRole(random, B, 'Developer', 'dave', '198.51.100.61', BOTO),
    erin: assumedRole(random, C, 'OpsAdmin', 'erin', '198.51.100.90', CLI),
    ci: iamUser(random, C, 'svc-ci', '203.0.113.15', BOTO),
    rootC: root(random, C, '203.0.113.140'),
  };
  const humans = new Map<string, Principal[]>([
    [A, [people.alice, people.bob, people.mallory, people.rootA]],
    [B, [people.carol, people.deployer, people.dave]],
    [C, [people.erin, people.ci]],
  ]);
  const accounts = ACCOUNTS.map((id, i): Account => ({
    id,
    name: ['production', 'platform', 'data'][i]!,
    keys: inventory.get(id)!,
    // The story makes its own multi-Region key and custom key stores.
    multiRegionKeys: [],
    customKeyStores: [],
    storeRegion: 'us-east-1',
    workloads: [
      assumedRole(random, id, 'orders-worker-role', 'orders-worker', `3.80.${random.int(256)}.${random.int(256)}`, NODE_SDK),
      assumedRole(random, id, 'reporting-batch', `i-0${random.hex(16)}`, `10.0.${random.int(256)}.${random.int(256)}`, BOTO),
      assumedRole(random, id, 'etl-glue-role', 'GlueJobRunnerSession', 'glue.amazonaws.com', 'glue.amazonaws.com'),
    ],
    humans: humans.get(id)!,
  }));
  const [a, b, c] = accounts as [Account, Account, Account];
  return {
    id: 'o-exampleorg1',
    accounts,
    accountWeights: [[5, a], [3, b], [2, c]],
    regionWeights: [[5, 'us-east-1'], [3, 'eu-west-1'], [2, 'ap-southeast-2']],
    people,
  };
}

/** Noise around the story: KMS reads (a few denied), other services' calls. */
const MIX: Mix = {
  kmsReads: 0.58,
  kmsReadKinds: [
    [40, 'kms.Decrypt.json'],
    [25, 'kms.GenerateDataKey.json'],
    [10, 'kms.Encrypt.json'],
    [6, 'kms.DescribeKey.json'],
    [2, 'kms.ListAliases.json'],
    [2, 'kms.GetKeyPolicy.json'],
    [1, 'kms.Decrypt.AccessDenied.json'],
  ],
  changes: 0,
  changeWeights: [],
  walkCatalogFirst: false,
  changeFailures: { rate: 0, codes: [] },
  otherKinds: [
    [10, 'sts.AssumeRole'],
    [6, 'sts.GetCallerIdentity'],
    [8, 'ec2.DescribeInstances'],
    [3, 'ec2.RunInstances'],
    [3, 'ec2.DescribeKeyPairs'],
    [6, 's3.ListBuckets'],
    [4, 's3.GetBucketEncryption'],
    [2, 's3.PutBucketTagging'],
    [5, 'iam.ListRoles'],
    [3, 'iam.GetRole'],
    [1, 'iam.TagRole'],
    [5, 'lambda.ListFunctions20150331'],
    [3, 'lambda.GetFunction20150331v2'],
    [2, 'secretsmanager.GetSecretValue'],
    [2, 'logs.CreateLogStream'],
    [2, 'kms.ListKeys'],
    [1, 'kms.GetKeyRotationStatus'],
  ],
  otherFailureRate: 0,
  duplicates: 0,
};

export const exampleTrail: TrailSpec<ExampleOrganisation> = {
  seed: EXAMPLE_SEED,
  records: EXAMPLE_RECORDS,
  time: { kind: 'window', start: EXAMPLE_START, end: EXAMPLE_END },
  organisation,
  story: tell,
  mix: MIX,
};

/** examples/trail.expected.json: the trail's truth in the form tests read, once the trail has been written. */
export function exampleTruthFile(trail: Trail<ExampleOrganisation>): string {
  const t = trail.truth();
  const file = {
    description:
      'Ground truth for examples/trail.jsonl.gz, computed by examples/make-trail.ts while writing it. Counts of changes and failures are over unique eventIDs (re-delivered copies excluded).',
    seed: EXAMPLE_SEED,
    window: { start: iso(EXAMPLE_START), end: iso(EXAMPLE_END) },
    totalRecords: t.records,
    uniqueEventIds: t.uniqueEventIds,
    duplicateRecords: t.duplicateRecords,
    duplicateEventIds: trail.redelivered.map((e) => e.eventID),
    records: { matched: t.matched, ignored: t.ignored, duplicate: t.duplicateRecords, invalid: 0 },
    catalogChangeRecords: t.matched,
    successfulChanges: t.successfulChanges,
    failedChanges: t.failedChanges,
    successfulChangesBySeries: t.successfulChangesBySeries,
    failedChangesBySeries: t.failedChangesBySeries,
    pendingDeletionAtEnd: t.pendingDeletionAtEnd,
  };
  return JSON.stringify(file, null, 2) + '\n';
}

/** Every catalog event at least once, with a story; a few look-alikes; three re-deliveries. */
function tell(story: Story, org: ExampleOrganisation): void {
  const { random } = story;
  const { alice, mallory, bob, carol, deployer, dave, erin, ci, rootC } = org.people;
  const change = story.change.bind(story);
  const key = (account: string, region: string, index: number): Target => {
    const target = org.accounts.find((a) => a.id === account)?.keys.get(region)?.[index];
    if (target === undefined) throw new Error(`no key ${account}/${region}/${index}`);
    return target;
  };

  // Keys that enter the story besides the inventory.
  const importedKey: Target = { account: A, region: 'us-east-1', keyId: random.uuid() };
  const doomedKey: Target = { account: B, region: 'eu-west-1', keyId: random.uuid() }; // scheduled before the trail starts
  const mrkId = `mrk-${random.hex(32)}`;
  const mrkPrimary: Target = { account: A, region: 'us-east-1', keyId: mrkId };
  const newKeys = [
    { account: B, region: 'eu-west-1', keyId: random.uuid() },
    { account: C, region: 'ap-southeast-2', keyId: random.uuid() },
    { account: A, region: 'eu-west-1', keyId: random.uuid() },
  ] as const;
  const storeA = `cks-${random.hex(17)}`; // account C, us-east-1
  const storeOld = `cks-${random.hex(17)}`;

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
    const volume = `vol-0${random.hex(16)}`;
    ec2Grants.push(
      change('CreateGrant.via-ec2.json', at(day, hh, mm, random.int(60)), key(A, 'us-east-1', 1), {
        pairs: onto(key(A, 'us-east-1', 1), [
          ['vol-0a1b2c3d4e5f60718', volume],
          ['a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90', random.hex(64)],
        ]),
        principal: through(bob, 'ec2.amazonaws.com'),
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

  // Other services' events whose names collide with catalog events, and other look-alikes.
  story.fixture('negative/ec2.CreateKeyPair.json', at(0, 17, 10, 34), A, 'us-east-1', { principal: alice });
  story.fixture('negative/ec2.CreateKeyPair.json', at(2, 9, 44, 2), C, 'ap-southeast-2', { principal: erin, pairs: [['bastion-2026', 'etl-debug']] });
  story.fixture('negative/secretsmanager.TagResource.json', at(1, 4, 12, 9), B, 'eu-west-1', { principal: deployer });
  story.fixture('negative/secretsmanager.TagResource.json', at(3, 12, 30, 55), A, 'us-east-1', { principal: bob });
  story.fixture('negative/ds.CreateAlias.json', at(1, 10, 44, 3), A, 'us-east-1', { principal: alice });
  story.fixture('negative/license-manager.CreateGrant.json', at(2, 13, 27, 55), A, 'us-east-1', { principal: alice });
  story.fixture('negative/cloudtrail-insight.kms.CreateGrant.json', at(3, 7, 31, 0), A, 'us-east-1');

  // At-least-once delivery: three records arrive twice.
  story.redeliver(ec2Grants[1]!, scheduleY, deniedDisable);
}
