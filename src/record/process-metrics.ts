// Process and Node.js runtime metrics under their standard names (process_*, nodejs_*), from prom-client's default collectors on a registry of their own.

import { Registry, collectDefaultMetrics } from 'prom-client';

/** The families the health dashboard charts, by prom-client's names. */
export const PROCESS_METRIC = {
  cpu: 'process_cpu_seconds_total',
  residentMemory: 'process_resident_memory_bytes',
  eventLoopLagP50: 'nodejs_eventloop_lag_p50_seconds',
  eventLoopLagP99: 'nodejs_eventloop_lag_p99_seconds',
  heapUsed: 'nodejs_heap_size_used_bytes',
  heapTotal: 'nodejs_heap_size_total_bytes',
} as const;

const LINT_FAILING = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

export interface ProcessMetrics {
  /** The text exposition of the process and runtime families, appended after ours on /metrics. */
  exposition(): Promise<string>;
}

/**
 * prom-client rather than OTel's host-metrics: its names are the ones every Node dashboard and
 * the Prometheus client libraries of other languages use (process_cpu_seconds_total,
 * process_resident_memory_bytes, nodejs_eventloop_lag_seconds...). None starts with kms_, so
 * nothing collides with the OTel exposition it is appended to.
 */
export function processMetrics(): ProcessMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters (promtool: "non-counter metrics should not have _total suffix"); nodejs_active_handles, _requests and _resources carry the same numbers by type.
  for (const name of LINT_FAILING) registry.removeSingleMetric(name);
  return { exposition: () => registry.metrics() };
}
