// The S3 archive's pure parts: s3:// locations. Which keys are listed and read: s3-layout.test.ts.
import t from 'tap';
import { parseS3Url } from '../../src/sources/s3-archive.ts';

t.test('parseS3Url: bucket and prefix; anything else is not a location', async (t) => {
  t.same(parseS3Url('s3://trail-bucket/AWSLogs/'), { bucket: 'trail-bucket', prefix: 'AWSLogs/' });
  t.same(parseS3Url('s3://trail-bucket'), { bucket: 'trail-bucket', prefix: '' });
  t.equal(parseS3Url('s3:///AWSLogs/'), undefined);
  t.equal(parseS3Url('/tmp/s3://x'), undefined);
});
