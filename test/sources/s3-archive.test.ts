// The S3 archive's pure parts: s3:// locations, which keys are log files, and the day prefixes listed for --from/--to.
import t from 'tap';
import fc from 'fast-check';
import { inDayRange, isLogFileKey, listPrefixes, parseS3Url } from '../../src/sources/s3-archive.ts';

const ORG_TRAIL = 'AWSLogs/o-abc123def4/111122223333/CloudTrail/eu-west-1';
const ACCOUNT_TRAIL = 'logs/AWSLogs/111122223333/CloudTrail/us-east-1/';

t.test('parseS3Url: bucket and prefix; anything else is not a location', async (t) => {
  t.same(parseS3Url('s3://trail-bucket/AWSLogs/'), { bucket: 'trail-bucket', prefix: 'AWSLogs/' });
  t.same(parseS3Url('s3://trail-bucket'), { bucket: 'trail-bucket', prefix: '' });
  t.equal(parseS3Url('s3:///AWSLogs/'), undefined);
  t.equal(parseS3Url('/tmp/s3://x'), undefined);
});

t.test('isLogFileKey: gzipped log files, not digest files nor other objects', async (t) => {
  t.equal(isLogFileKey(`${ORG_TRAIL}/2026/11/19/111122223333_CloudTrail_eu-west-1_20261119T0905Z_abc.json.gz`), true);
  t.equal(isLogFileKey('AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/19/111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20261119T100000Z.json.gz'), false);
  t.equal(isLogFileKey('AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/'), false);
  t.equal(isLogFileKey('AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/19/notes.json'), false);
});

t.test('listPrefixes: one per day of the range at the region level (organisation and account trails), the prefix itself otherwise', async (t) => {
  t.same(listPrefixes(ORG_TRAIL, { from: '2026-12-30', to: '2027-01-02' }), ['30', '31'].map((d) => `${ORG_TRAIL}/2026/12/${d}/`).concat(['01', '02'].map((d) => `${ORG_TRAIL}/2027/01/${d}/`)));
  t.same(listPrefixes(ACCOUNT_TRAIL, { from: '2028-02-28', to: '2028-03-01' }), ['2028/02/28/', '2028/02/29/', '2028/03/01/'].map((d) => `${ACCOUNT_TRAIL}${d}`));
  t.same(listPrefixes('AWSLogs/o-abc123def4/', { from: '2026-11-19', to: '2026-11-20' }), ['AWSLogs/o-abc123def4/'], 'above the region level: listed whole, filtered by key');
  t.same(listPrefixes(ORG_TRAIL, { from: '2026-11-19' }), [ORG_TRAIL], 'open-ended: listed whole');
});

t.test('property: the listed day prefixes are exactly the days inside the range, each key under them in range and none outside', async () => {
  const dayArb = fc.integer({ min: Date.UTC(2013, 0, 1), max: Date.UTC(2040, 0, 1) }).map((time) => new Date(time).toISOString().slice(0, 10));
  fc.assert(
    fc.property(dayArb, fc.integer({ min: 0, max: 400 }), dayArb, (from, span, probe) => {
      const to = new Date(Date.parse(`${from}T00:00:00Z`) + span * 86_400_000).toISOString().slice(0, 10);
      const prefixes = listPrefixes(ORG_TRAIL, { from, to });
      if (prefixes.length !== span + 1) return false;
      const key = `${ORG_TRAIL}/${probe.replaceAll('-', '/')}/111122223333_CloudTrail_eu-west-1_x.json.gz`;
      const listed = prefixes.some((prefix) => key.startsWith(prefix));
      return listed === inDayRange(key, { from, to }) && listed === (probe >= from && probe <= to);
    }),
  );
});
