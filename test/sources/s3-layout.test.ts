// Which keys of a CloudTrail archive replay s3:// reads, and what it lists to find them: against a pure model of
// ListObjectsV2, the walk gives exactly a flat listing's keys filtered by the selection, in its order, and lists only
// the folders the selection needs.
import t from 'tap';
import fc from 'fast-check';
import { isLogFileKey, keySelector, layoutPosition, selectedKeys } from '../../src/sources/s3-layout.ts';
import type { ListObjects, TrailSelection } from '../../src/sources/s3-layout.ts';
import { listingModel } from '../support/s3-listing-model.ts';

const ORG = 'o-abc123def4';
const collect = async (keys: AsyncIterable<string>): Promise<string[]> => {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
};
const walk = (list: ListObjects, prefix: string, selection: TrailSelection, after?: string): Promise<string[]> => collect(selectedKeys(list, prefix, selection, { after }));

t.test('isLogFileKey: gzipped log files, not digest files nor other objects', async (t) => {
  t.equal(isLogFileKey(`AWSLogs/${ORG}/111122223333/CloudTrail/eu-west-1/2026/11/19/111122223333_CloudTrail_eu-west-1_20261119T0905Z_abc.json.gz`), true);
  t.equal(isLogFileKey('AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/19/111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20261119T100000Z.json.gz'), false);
  t.equal(isLogFileKey('AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/'), false);
  t.equal(isLogFileKey('AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/notes.json'), false);
});

t.test('layoutPosition: where a prefix stands in the layout; a last name a level takes whole means its folder; other folders are not in it', async (t) => {
  t.same(layoutPosition(''), { root: '', level: 'awslogs', path: '', partial: '' });
  t.same(layoutPosition('AWSLogs'), { root: '', level: 'top', path: 'AWSLogs/', partial: '' });
  t.same(layoutPosition(`AWSLogs/${ORG}/`), { root: '', level: 'account', path: `AWSLogs/${ORG}/`, partial: '' });
  t.same(layoutPosition('AWSLogs/1111'), { root: '', level: 'top', path: 'AWSLogs/', partial: '1111' });
  t.same(layoutPosition('logs/AWSLogs/111122223333/CloudTrail/eu-west-1'), { root: 'logs/', level: 'year', path: 'logs/AWSLogs/111122223333/CloudTrail/eu-west-1/', partial: '' });
  t.same(layoutPosition('AWSLogs/111122223333/CloudTrail/eu-west-1/2026/1'), { root: '', level: 'month', path: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/', partial: '1' });
  t.same(layoutPosition('AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/1111'), { root: '', level: 'files', path: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/', partial: '1111' });
  t.equal(layoutPosition('logs/'), undefined, 'a trail key prefix without AWSLogs/ is not the layout: read flat');
  t.equal(layoutPosition('AWSLogs/junk/'), undefined);
  t.equal(layoutPosition('AWSLogs/111122223333/CloudTrail-Digest/'), undefined);
});

// A bucket of 50 accounts under an organisation trail, 17 regions, 5 days of 2 log files each, with digest files.
const ACCOUNTS = Array.from({ length: 50 }, (_, i) => String(100000000000 + i * 1111));
const REGIONS = ['af-south-1', 'ap-east-1', 'ap-northeast-1', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2', 'ca-central-1', 'eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'me-south-1', 'sa-east-1', 'us-east-1', 'us-west-2'];
const DAYS = ['2026/11/17', '2026/11/18', '2026/11/19', '2026/11/20', '2026/11/21'];
function orgBucket(): string[] {
  const keys: string[] = [];
  for (const account of ACCOUNTS) {
    for (const region of REGIONS) {
      for (const day of DAYS) {
        for (const n of [1, 2]) keys.push(`AWSLogs/${ORG}/${account}/CloudTrail/${region}/${day}/${account}_CloudTrail_${region}_${day.replaceAll('/', '')}T0${n}00Z_x.json.gz`);
        keys.push(`AWSLogs/${ORG}/${account}/CloudTrail-Digest/${region}/${day}/${account}_CloudTrail-Digest_${region}_t_${region}_${day.replaceAll('/', '')}T010000Z.json.gz`);
      }
    }
  }
  return keys;
}

t.test('2 of 50 accounts, 1 of 17 regions, 3 of 5 days: 7 listings (AWSLogs/ once to find the organisation, then one per account and day), 12 keys', async (t) => {
  const bucket = orgBucket();
  const selection = { accounts: [ACCOUNTS[7]!, ACCOUNTS[31]!], regions: ['eu-west-1'], from: '2026-11-18', to: '2026-11-20' };
  const model = listingModel(bucket);
  const keys = await walk(model.list, '', selection);
  t.same(keys, bucket.filter(keySelector('', selection)).sort());
  t.equal(keys.length, 12);
  const dayListings = [ACCOUNTS[7]!, ACCOUNTS[31]!].flatMap((account) => ['18', '19', '20'].map((d) => `AWSLogs/${ORG}/${account}/CloudTrail/eu-west-1/2026/11/${d}/||`));
  t.same(model.requests, ['AWSLogs/|/|', ...dayListings]);
  const flat = listingModel(bucket);
  await walk(flat.list, '', {});
  t.equal(flat.requests.length, Math.ceil(bucket.length / 1000), `a flat listing of the same bucket: ${Math.ceil(bucket.length / 1000)} pages of 1,000 keys`);
});

t.test('unbounded on one side: the year and month levels listed with the delimiter, those wholly outside skipped, those wholly inside listed flat', async (t) => {
  const region = `AWSLogs/111122223333/CloudTrail/eu-west-1/`;
  const days = ['2025/12/30', '2025/12/31', '2026/01/01', '2026/02/03', '2026/02/04', '2027/03/01'];
  const bucket = days.map((day) => `${region}${day}/f.json.gz`);
  const model = listingModel(bucket);
  t.same(await walk(model.list, region, { from: '2026-02-04' }), [`${region}2026/02/04/f.json.gz`, `${region}2027/03/01/f.json.gz`]);
  t.same(model.requests, [`${region}|/|`, `${region}2026/|/|`, `${region}2026/02/|/|`, `${region}2026/02/04/||`, `${region}2027/||`]);
  const until = listingModel(bucket);
  t.same(await walk(until.list, region, { to: '2026-01-01' }), bucket.slice(0, 3));
  t.same(until.requests, [`${region}|/|`, `${region}2025/||`, `${region}2026/|/|`, `${region}2026/01/|/|`, `${region}2026/01/01/||`]);
});

t.test('both bounds: years and months wholly inside are listed flat, the edges by day, nothing listed with a delimiter', async (t) => {
  const region = `AWSLogs/111122223333/CloudTrail/eu-west-1/`;
  const model = listingModel([`${region}2026/09/30/f.json.gz`, `${region}2026/10/15/f.json.gz`, `${region}2026/12/02/f.json.gz`]);
  t.same(await walk(model.list, region, { from: '2026-09-30', to: '2026-12-01' }), [`${region}2026/09/30/f.json.gz`, `${region}2026/10/15/f.json.gz`]);
  t.same(model.requests, [`${region}2026/09/30/||`, `${region}2026/10/||`, `${region}2026/11/||`, `${region}2026/12/01/||`]);
});

t.test('a prefix whose account, region or day the selection excludes lists nothing; a prefix outside the layout is read flat and filtered', async (t) => {
  const model = listingModel(['AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/f.json.gz', 'logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/f.json.gz']);
  t.same(await walk(model.list, 'AWSLogs/111122223333/', { accounts: ['444455556666'] }), []);
  t.same(await walk(model.list, 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/', { from: '2026-12-01' }), []);
  t.same(model.requests, []);
  t.same(await walk(model.list, 'logs/', { regions: ['eu-west-1'] }), ['logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/f.json.gz']);
  t.same(model.requests, ['logs/||']);
});

// ---- The property: random buckets, prefixes and selections; the walk equals a flat listing filtered by this spec. ----

const POOL_ACCOUNTS = ['111122223333', '444455556666', '777788889999'];
const POOL_REGIONS = ['eu-west-1', 'us-east-1', 'us-east-10', 'ap-southeast-2'];
const POOL_DAYS = ['2025/12/31', '2026/01/01', '2026/01/31', '2026/02/28', '2026/03/01', '2026/13/01', '2026/02/30'];
const SPEC_DAYS = ['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-15', '2026-02-28', '2026-03-01', '2026-03-02'];

/** The selection's meaning, written out on its own: a log file in the layout under `root` (anywhere when undefined). */
function specSelects(key: string, root: string | undefined, selection: TrailSelection): boolean {
  if (!key.endsWith('.json.gz') || key.includes('/CloudTrail-Digest/')) return false;
  if (selection.accounts === undefined && selection.regions === undefined && selection.from === undefined && selection.to === undefined) return true;
  const segments = key.split('/');
  const starts = root === undefined ? segments.map((_, i) => i) : root === '' || key.startsWith(root) ? [root === '' ? 0 : root.split('/').length - 1] : [];
  return starts.some((start) => {
    if (root !== undefined && segments.slice(0, start).join('/') + (start > 0 ? '/' : '') !== root) return false;
    let s = segments.slice(start);
    if (s[0] !== 'AWSLogs') return false;
    s = s.slice(1);
    if (/^o-[a-z0-9]{10,32}$/.test(s[0] ?? '')) s = s.slice(1);
    const [account = '', service, region = '', year = '', month = '', day = '', ...rest] = s;
    if (!/^\d{12}$/.test(account) || service !== 'CloudTrail' || !/^[a-z0-9-]+$/.test(region) || !/^\d{4}$/.test(year) || !/^\d{2}$/.test(month) || !/^\d{2}$/.test(day)) return false;
    if (rest.length === 0 || rest.join('/') === '') return false;
    if (selection.accounts !== undefined && !selection.accounts.includes(account)) return false;
    if (selection.regions !== undefined && !selection.regions.includes(region)) return false;
    if (selection.from === undefined && selection.to === undefined) return true;
    const date = new Date(`${year}-${month}-${day}T00:00:00Z`);
    const text = `${year}-${month}-${day}`;
    if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text) return false;
    return (selection.from === undefined || text >= selection.from) && (selection.to === undefined || text <= selection.to);
  });
}

const bucketArb = fc
  .record({
    orgTrail: fc.boolean(),
    accountTrail: fc.boolean(),
    keyPrefix: fc.constantFrom('', '', 'logs/'),
    accounts: fc.subarray(POOL_ACCOUNTS, { minLength: 1 }),
    regions: fc.subarray(POOL_REGIONS, { minLength: 1 }),
    days: fc.subarray(POOL_DAYS, { minLength: 1 }),
    files: fc.integer({ min: 1, max: 3 }),
    strays: fc.subarray([
      'AWSLogs/stray.json.gz',
      'AWSLogs/junk/CloudTrail/eu-west-1/2026/01/01/x.json.gz',
      'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/stray.json.gz',
      'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/sub/deeper.json.gz',
      'AWSLogs/111122223333/CloudTrail/eu-west-1/',
      'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/notes.txt',
      `AWSLogs/${ORG}/111122223333/CloudTrail-Insight/eu-west-1/2026/01/01/i.json.gz`,
      'other/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/x.json.gz',
      'AWSLogs-old/111122223333/CloudTrail/eu-west-1/2026/01/01/x.json.gz',
    ]),
  })
  .map((b) => {
    const keys: string[] = [...b.strays];
    const tops = [...(b.orgTrail ? [`AWSLogs/${ORG}/`] : []), ...(b.accountTrail || !b.orgTrail ? ['AWSLogs/'] : [])];
    for (const top of tops) {
      for (const account of b.accounts) {
        for (const region of b.regions) {
          for (const day of b.days) {
            for (let n = 0; n < b.files; n++) keys.push(`${b.keyPrefix}${top}${account}/CloudTrail/${region}/${day}/${account}_CloudTrail_${region}_${n}.json.gz`);
            keys.push(`${b.keyPrefix}${top}${account}/CloudTrail-Digest/${region}/${day}/${account}_CloudTrail-Digest_${region}.json.gz`);
          }
        }
      }
    }
    return keys;
  });

/** Prefixes to replay, with what they mean: the prefix listed flat (a last whole name means its folder) and the layout's root. */
const LOCATIONS: readonly { readonly prefix: string; readonly flat: string; readonly root: string | undefined }[] = [
  { prefix: '', flat: '', root: '' },
  { prefix: 'AWSLogs/', flat: 'AWSLogs/', root: '' },
  { prefix: 'AWSLogs', flat: 'AWSLogs/', root: '' },
  { prefix: `AWSLogs/${ORG}/`, flat: `AWSLogs/${ORG}/`, root: '' },
  { prefix: 'AWSLogs/1111', flat: 'AWSLogs/1111', root: '' },
  { prefix: 'AWSLogs/111122223333', flat: 'AWSLogs/111122223333/', root: '' },
  { prefix: `AWSLogs/${ORG}/444455556666/CloudTrail/`, flat: `AWSLogs/${ORG}/444455556666/CloudTrail/`, root: '' },
  { prefix: 'AWSLogs/111122223333/CloudTrail/eu-', flat: 'AWSLogs/111122223333/CloudTrail/eu-', root: '' },
  { prefix: 'AWSLogs/111122223333/CloudTrail/us-east-1', flat: 'AWSLogs/111122223333/CloudTrail/us-east-1/', root: '' },
  { prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/', flat: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/', root: '' },
  { prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/0', flat: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/0', root: '' },
  { prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/', flat: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/', root: '' },
  { prefix: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/1111', flat: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/01/1111', root: '' },
  { prefix: 'logs/AWSLogs/', flat: 'logs/AWSLogs/', root: 'logs/' },
  { prefix: 'logs/', flat: 'logs/', root: undefined },
  { prefix: 'other/', flat: 'other/', root: undefined },
  { prefix: 'AWSLogs/junk/', flat: 'AWSLogs/junk/', root: undefined },
];

const selectionArb: fc.Arbitrary<TrailSelection> = fc
  .record({
    accounts: fc.option(fc.subarray([...POOL_ACCOUNTS, '123456789012']), { nil: undefined }),
    regions: fc.option(fc.subarray(['eu-west-1', 'us-east-1', 'ap-southeast-2', 'sa-east-1']), { nil: undefined }),
    from: fc.option(fc.constantFrom(...SPEC_DAYS), { nil: undefined }),
    to: fc.option(fc.constantFrom(...SPEC_DAYS), { nil: undefined }),
  })
  .filter((s) => s.from === undefined || s.to === undefined || s.from <= s.to)
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as TrailSelection);

t.test('property: over random buckets, prefixes, selections and page sizes, the walk gives exactly the keys of a flat listing filtered by the selection, in its order, and resumes after any of them', async () => {
  await fc.assert(
    fc.asyncProperty(bucketArb, fc.constantFrom(...LOCATIONS), selectionArb, fc.integer({ min: 1, max: 4 }), fc.nat(), async (bucket, location, selection, pageSize, pick) => {
      // With nothing selected the prefix is S3's own, as it always was; with a selection a last whole name is its folder.
      const flat = Object.keys(selection).length === 0 ? location.prefix : location.flat;
      const expected = [...new Set(bucket)].sort().filter((key) => key.startsWith(flat) && specSelects(key, location.root, selection));
      const got = await walk(listingModel(bucket, pageSize).list, location.prefix, selection);
      if (JSON.stringify(got) !== JSON.stringify(expected)) return false;
      if (expected.length === 0) return true;
      const after = expected[pick % expected.length]!;
      const resumed = await walk(listingModel(bucket, pageSize).list, location.prefix, selection, after);
      return JSON.stringify(resumed) === JSON.stringify(expected.filter((key) => key > after));
    }),
    { numRuns: 400 },
  );
});
