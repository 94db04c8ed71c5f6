// The Redis store against a real redis-server behind a proxy that loses one answer: a commit the server ran is counted once, whatever the client heard.

import t from 'tap';
import type { Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { buildService } from '../../../src/service.ts';
import type { Service } from '../../../src/service.ts';
import { subscriptionRecord } from '../../support/firehose-request.ts';
import { scheduleKeyDeletion } from '../../support/key-deletion-records.ts';
import { startRedisServer } from '../../support/redis-server.ts';
import { sample } from '../../support/service-process.ts';
import { startTcpProxy } from '../../support/tcp-proxy.ts';

const ACCESS_KEY = 'firehose-access-key-0123456789';
const HOUR = 3_600_000;
/** The COMMIT script on the wire: EVALSHA or EVAL with its 15 keys, the first being the committed eventIDs. */
const COMMIT_ON_THE_WIRE = /\$2\r\n15\r\n\$\d+\r\n\{kms-change-exporter\}:events\r\n/;

async function replica(t: Test, stateUrl: string, replicaId: string): Promise<Service> {
  const config = loadConfig({ source: 'firehose', stateUrl, replicaId });
  const service = await buildService(config, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: ACCESS_KEY }, log: pino({ level: 'silent' }) });
  t.teardown(() => service.stop());
  await service.start({ listen: false });
  await service.restored;
  return service;
}

async function post(service: Service, requestId: string, message: string): Promise<number> {
  const response = await service.app.inject({
    method: 'POST',
    url: '/firehose',
    headers: { 'content-type': 'application/json', 'x-amz-firehose-access-key': ACCESS_KEY, 'x-amz-firehose-request-id': requestId },
    payload: JSON.stringify({ requestId, timestamp: Date.now(), records: [{ data: subscriptionRecord([message]) }] }),
  });
  return response.statusCode;
}

/** Posts until 200, as Firehose retries; returns the statuses seen. */
async function deliver(service: Service, requestId: string, message: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 50 && statuses.at(-1) !== 200; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    statuses.push(await post(service, requestId, message));
  }
  return statuses;
}

async function changes(service: Service): Promise<number> {
  return sample((await service.app.inject({ method: 'GET', url: '/metrics' })).body, 'kms_config_changes_total');
}

t.test('the connection drops after redis-server ran a commit and before its answer arrived: counted once, on this replica and after its restart', async (t) => {
  const redis = await startRedisServer(t);
  const proxy = await startTcpProxy(t, { host: '127.0.0.1', port: redis.port });
  const stateUrl = `redis://127.0.0.1:${proxy.port}/0`;
  const service = await replica(t, stateUrl, 'r1');

  // A first commit loads the scripts, so the lost answer below is the commit's own, not a NOSCRIPT.
  t.same(await deliver(service, randomUUID(), scheduleKeyDeletion('key-0', Date.now() - HOUR, 7)), [200]);

  const lost = proxy.loseNextAnswer(COMMIT_ON_THE_WIRE);
  const requestId = randomUUID();
  const message = scheduleKeyDeletion('key-1', Date.now() - HOUR, 7);
  const statuses = await deliver(service, requestId, message);
  await lost;
  t.equal(statuses.at(-1), 200, `delivered (answers ${statuses.join(', ')})`);
  t.equal(await changes(service), 2, 'the change whose commit answer was lost is counted');

  t.same(await deliver(service, randomUUID(), scheduleKeyDeletion('key-2', Date.now() - HOUR, 7)), [200]);
  t.equal(await changes(service), 3, 'and stays counted through the next commit');
  await service.stop();

  const restarted = await replica(t, stateUrl, 'r1');
  t.equal(await changes(restarted), 3, 'the restarted replica restores all three from its snapshot');
  t.same(await deliver(restarted, requestId, message), [200], 'a late Firehose retry of the request is acknowledged');
  t.equal(await changes(restarted), 3, 'and not counted again');
});
