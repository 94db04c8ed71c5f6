// What a scrape shows of the gauges whose series come and go: exactly what their callbacks observe now, nothing kept from earlier scrapes.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { buildService } from '../src/service.ts';
import { buildTelemetry } from '../src/telemetry.ts';
import { subscriptionRecord } from './support/firehose-request.ts';
import { cancelKeyDeletion, scheduleKeyDeletion } from './support/key-deletion-records.ts';

const ACCESS_KEY = 'firehose-access-key-0123456789';
const NOW = Date.parse('2026-11-25T00:00:00Z');
const DAY = 86_400_000;

t.test('an observable gauge series no longer observed is gone from the next exposition', async (t) => {
  const telemetry = await buildTelemetry({ seriesLimit: 100, logsFd: undefined, env: {} });
  t.teardown(() => telemetry.shutdown());
  let keys = ['a', 'b'];
  telemetry.meterProvider.getMeter('test').createObservableGauge('test_gauge').addCallback((result) => {
    for (const key of keys) result.observe(1, { key });
  });
  t.match(await telemetry.exposition(), /^test_gauge\{key="a"\} 1\ntest_gauge\{key="b"\} 1$/m);
  keys = ['b'];
  const body = await telemetry.exposition();
  t.notMatch(body, 'key="a"', 'the series observed no more is not exported');
  t.match(body, /^test_gauge\{key="b"\} 1$/m, 'the one still observed is');
});

t.test('CancelKeyDeletion after a scrape removes the key from kms_key_pending_deletion_timestamp_seconds', async (t) => {
  const config = loadConfig({ source: 'firehose' });
  const service = await buildService(config, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: ACCESS_KEY }, log: pino({ level: 'silent' }), now: () => NOW });
  t.teardown(() => service.stop());
  await service.start({ listen: false });
  await service.restored;
  const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
  const post = async (message: string) => {
    const requestId = randomUUID();
    const response = await service.app.inject({
      method: 'POST',
      url: '/firehose',
      headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': ACCESS_KEY, 'x-amz-firehose-request-id': requestId },
      payload: JSON.stringify({ requestId, timestamp: NOW, records: [{ data: subscriptionRecord([message]) }] }),
    });
    t.equal(response.statusCode, 200);
  };
  const scrape = async () => (await service.app.inject({ method: 'GET', url: '/metrics' })).body.split('\n').filter((line) => line.startsWith('kms_key_pending_deletion_timestamp_seconds{'));

  await post(scheduleKeyDeletion(keyId, NOW - 2 * DAY, 7));
  t.same(await scrape(), [`kms_key_pending_deletion_timestamp_seconds{aws_account_id="111122223333",aws_region="us-east-1",key_id="${keyId}"} ${(NOW + 5 * DAY) / 1000}`], 'scheduled: the deletion date');
  await post(cancelKeyDeletion(keyId, NOW - DAY));
  t.same(await scrape(), [], 'cancelled: no series (a stale one would keep KmsKeyDeletionImminent firing)');
});
