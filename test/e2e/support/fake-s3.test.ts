// Proves the fake S3 speaks what the real @aws-sdk/client-s3 expects (path style): ListObjectsV2 pages, prefixes and delimiters, GetObject streamed and ranged, S3's XML errors and faults.
import t from 'tap';
import type { Test } from 'tap';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import type { S3ServiceException } from '@aws-sdk/client-s3';

/** The error a call failed with (the test fails if it succeeded). */
const failure = (call: Promise<unknown>): Promise<S3ServiceException> => call.then(() => { throw new Error('the call succeeded'); }, (error: unknown) => error as S3ServiceException);
import { startFakeS3 } from '../../support/fake-s3/index.ts';
import type { FakeS3 } from '../../support/fake-s3/index.ts';

async function setup(t: Test, maxAttempts = 1): Promise<{ fake: FakeS3; client: S3Client }> {
  const fake = await startFakeS3();
  t.teardown(() => fake.close());
  const client = new S3Client({ region: 'us-east-1', endpoint: fake.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts });
  t.teardown(() => client.destroy());
  for (const key of ['a/1.json.gz', 'a/2.json.gz', 'a/b/3.json.gz', 'a/b/4.json.gz', 'a/c/5.json.gz', 'z.txt']) fake.api.putObject('trail', key, Buffer.from(`body of ${key}`));
  return { fake, client };
}

t.test('ListObjectsV2: pages of max-keys with KeyCount, IsTruncated and a NextContinuationToken, until the last page; under the prefix only', async (t) => {
  const { client } = await setup(t);
  const pages: { keys: string[]; count: number | undefined; truncated: boolean | undefined }[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'trail', Prefix: 'a/', MaxKeys: 2, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    pages.push({ keys: (page.Contents ?? []).map((c) => c.Key ?? ''), count: page.KeyCount, truncated: page.IsTruncated });
    t.equal(page.Name, 'trail');
    t.equal(page.MaxKeys, 2);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  t.same(pages, [
    { keys: ['a/1.json.gz', 'a/2.json.gz'], count: 2, truncated: true },
    { keys: ['a/b/3.json.gz', 'a/b/4.json.gz'], count: 2, truncated: true },
    { keys: ['a/c/5.json.gz'], count: 1, truncated: false },
  ]);
});

t.test('ListObjectsV2: a delimiter rolls keys into CommonPrefixes that count toward max-keys; start-after skips', async (t) => {
  const { client } = await setup(t);
  const first = await client.send(new ListObjectsV2Command({ Bucket: 'trail', Prefix: 'a/', Delimiter: '/', MaxKeys: 3 }));
  t.same((first.Contents ?? []).map((c) => c.Key), ['a/1.json.gz', 'a/2.json.gz']);
  t.same((first.CommonPrefixes ?? []).map((p) => p.Prefix), ['a/b/']);
  t.equal(first.KeyCount, 3);
  t.equal(first.IsTruncated, true);
  const second = await client.send(new ListObjectsV2Command({ Bucket: 'trail', Prefix: 'a/', Delimiter: '/', MaxKeys: 3, ContinuationToken: first.NextContinuationToken! }));
  t.same((second.CommonPrefixes ?? []).map((p) => p.Prefix), ['a/c/']);
  t.equal(second.Contents, undefined);
  t.equal(second.IsTruncated, false);
  const after = await client.send(new ListObjectsV2Command({ Bucket: 'trail', StartAfter: 'a/c/5.json.gz' }));
  t.same((after.Contents ?? []).map((c) => [c.Key, c.Size]), [['z.txt', 'body of z.txt'.length]]);
  t.equal(after.StartAfter, 'a/c/5.json.gz');
});

t.test('GetObject: the body streamed in full, a Range as 206 with Content-Range, a missing key as NoSuchKey', async (t) => {
  const { fake, client } = await setup(t);
  const big = Buffer.alloc(100_000, 7);
  fake.api.putObject('trail', 'big.bin', big);
  const whole = await client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'big.bin' }));
  t.same(Buffer.from(await whole.Body!.transformToByteArray()), big);
  t.equal(whole.ContentLength, 100_000);
  const ranged = await client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'a/1.json.gz', Range: 'bytes=8-11' }));
  t.equal(await ranged.Body!.transformToString(), 'a/1.');
  t.equal(ranged.ContentRange, 'bytes 8-11/19');
  const suffix = await client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'a/1.json.gz', Range: 'bytes=-7' }));
  t.equal(await suffix.Body!.transformToString(), 'json.gz');
  const missing = await client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'nope.json.gz' })).catch((error: unknown) => error);
  t.ok(missing instanceof NoSuchKey, 'the modeled NoSuchKey');
  t.equal((missing as S3ServiceException).$metadata.httpStatusCode, 404);
  t.equal((missing as S3ServiceException).message, 'The specified key does not exist.');
  const unsatisfiable = await client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'a/1.json.gz', Range: 'bytes=500-' })).catch((error: unknown) => error);
  t.equal((unsatisfiable as S3ServiceException).name, 'InvalidRange');
  t.equal((unsatisfiable as S3ServiceException).$metadata.httpStatusCode, 416);
});

t.test('errors and faults: AccessDenied 403, NoSuchBucket 404, SlowDown 503 and InternalError 500 retried by the SDK, a body cut short', async (t) => {
  const { fake, client } = await setup(t, 3);
  fake.api.denyObject('trail', 'a/2.json.gz');
  const denied = await failure(client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'a/2.json.gz' })));
  t.same([denied.name, denied.$metadata.httpStatusCode, denied.message], ['AccessDenied', 403, 'Access Denied']);
  const noBucket = await failure(client.send(new ListObjectsV2Command({ Bucket: 'other' })));
  t.same([noBucket.name, noBucket.$metadata.httpStatusCode], ['NoSuchBucket', 404]);
  fake.api.failNext('ListObjectsV2', 'SlowDown');
  fake.api.failNext('ListObjectsV2', 'InternalError');
  const listed = await client.send(new ListObjectsV2Command({ Bucket: 'trail', Prefix: 'z' }));
  t.same((listed.Contents ?? []).map((c) => c.Key), ['z.txt']);
  t.equal(listed.$metadata.attempts, 3, 'a throttle and a 500, each retried');
  fake.api.failNext('GetObject', 'SlowDown', 3);
  const throttled = await failure(client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'z.txt' })));
  t.same([throttled.name, throttled.$metadata.httpStatusCode, throttled.message], ['SlowDown', 503, 'Please reduce your request rate.']);
  fake.api.putObject('trail', 'cut.bin', Buffer.alloc(200_000, 1));
  fake.api.failNext('GetObject', { cut: 50_000 });
  const cut = await client.send(new GetObjectCommand({ Bucket: 'trail', Key: 'cut.bin' }));
  await t.rejects(cut.Body!.transformToByteArray(), 'the body ends before its Content-Length');
  t.same(fake.api.requests().filter((r) => r.startsWith('GetObject')).slice(-5), [
    'GetObject 403 a/2.json.gz',
    'GetObject 503 z.txt',
    'GetObject 503 z.txt',
    'GetObject 503 z.txt',
    'GetObject 200 cut.bin (cut)',
  ]);
});
