// The service as buildService makes it, never listening: driven with app.inject, so a test sees exactly what a scrape or a sender sees.

import type { Test } from 'tap';
import { loadConfig } from '../../src/config.ts';
import type { Config } from '../../src/config.ts';
import { buildService } from '../../src/service.ts';
import type { Service, ServiceDeps } from '../../src/service.ts';
import type { Source } from '../../src/sources/source.ts';
import { captureLog } from './log-lines.ts';
import type { LogCapture } from './log-lines.ts';

export interface InProcessOptions extends Partial<Omit<ServiceDeps, 'log'>> {
  /** Settings that skip parsing (intervals shorter than a flag allows). */
  readonly overrides?: Partial<Config>;
  /** Start (and wait for the restore) before returning; default true. */
  readonly start?: boolean;
}

export interface InProcess {
  readonly service: Service;
  readonly logs: LogCapture;
  /** GET /metrics; throws unless it answers 200. */
  scrape(): Promise<string>;
  /** GET /-/ready: its status code and parsed body. */
  ready(): Promise<{ readonly status: number; readonly body: unknown }>;
  /** The source of that name, as the service built it. */
  source<T extends Source>(name: string, type: abstract new (...args: never[]) => T): T;
}

/** Builds the service from raw flag values (as commander gives them); stopped when the test ends. */
export async function inProcessService(t: Test, raw: Readonly<Record<string, unknown>>, options: InProcessOptions = {}): Promise<InProcess> {
  const { overrides, start = true, ...deps } = options;
  const logs = captureLog('debug');
  const service = await buildService(loadConfig(raw, overrides), { env: {}, ...deps, log: logs.log });
  t.teardown(() => service.stop());
  if (start) {
    await service.start({ listen: false });
    await service.restored;
  }
  return {
    service,
    logs,
    async scrape() {
      const response = await service.app.inject({ method: 'GET', url: '/metrics' });
      if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}: ${response.body}`);
      return response.body;
    },
    async ready() {
      const response = await service.app.inject({ method: 'GET', url: '/-/ready' });
      return { status: response.statusCode, body: response.json() as unknown };
    },
    source(name, type) {
      const found = service.sources.find((source) => source.name === name);
      if (!(found instanceof type)) throw new Error(`the service has no ${name} source of that type`);
      return found;
    },
  };
}

/** Waits (a few ms at a time) until `check` holds; fails loudly rather than hanging the suite. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
