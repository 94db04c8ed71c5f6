// Replicas of `kms-change-exporter serve --source firehose` sharing one --state-url, each with a stable --replica-id and port: killed with -9 and restarted as a pod would be.

import { startService } from './service-process.ts';
import type { ServiceProcess } from './service-process.ts';
import type { Scope } from './prometheus-stack.ts';
import { waitUntil } from './prometheus-stack.ts';

export interface Replica {
  readonly id: string;
  readonly port: number;
  /** http://127.0.0.1:PORT, the same across restarts. */
  readonly address: string;
  /** host:port, a Prometheus target. */
  readonly target: string;
  readonly process: ServiceProcess;
  metrics(): Promise<string>;
  /** GET /-/ready: its status and JSON body. */
  ready(): Promise<{ readonly status: number; readonly body: ReadyBody }>;
  /** SIGKILL: whatever it was doing is cut short. */
  kill(): Promise<void>;
  /** Starts it again with the same replica id and port; resolves once /-/ready answers 200 (restored from the store). */
  restart(): Promise<void>;
}

export interface ReadyBody {
  readonly status: string;
  readonly sources: Readonly<Record<string, { readonly ready: boolean; readonly detail: string }>>;
}

export interface ReplicaSetOptions {
  readonly stateUrl: string;
  readonly ids: readonly string[];
  readonly accessKey: string;
  readonly args?: readonly string[];
}

async function waitReady(replica: Replica): Promise<void> {
  await waitUntil(`replica ${replica.id} to be ready`, async () => ((await replica.ready()).status === 200 ? true : undefined), { timeoutMs: 20_000, intervalMs: 50 });
}

export async function startReplicas(scope: Scope, options: ReplicaSetOptions): Promise<Replica[]> {
  const env = { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: options.accessKey };
  const argsFor = (id: string) => ['--source', 'firehose', '--state-url', options.stateUrl, '--replica-id', id, ...(options.args ?? [])];
  const live = new Set<ServiceProcess>();
  scope.teardown(async () => {
    for (const running of live) await running.kill();
  });

  const replicaOf = async (id: string): Promise<Replica> => {
    let running = await startService(argsFor(id), env);
    live.add(running);
    const port = Number(new URL(running.address).port);
    const replica: Replica = {
      id,
      port,
      address: running.address,
      target: `127.0.0.1:${port}`,
      get process() {
        return running;
      },
      metrics: () => running.metrics(),
      async ready() {
        const response = await fetch(`${running.address}/-/ready`, { signal: AbortSignal.timeout(5_000) });
        return { status: response.status, body: (await response.json()) as ReadyBody };
      },
      async kill() {
        await running.kill();
        live.delete(running);
      },
      async restart() {
        // The later --listen-address wins over service-process.ts's 127.0.0.1:0.
        running = await startService([...argsFor(id), '--listen-address', `127.0.0.1:${port}`], env);
        live.add(running);
        await waitReady(replica);
      },
    };
    await waitReady(replica);
    return replica;
  };
  return Promise.all(options.ids.map(replicaOf));
}
