// The OpenTelemetry providers (metrics through the Prometheus serializer, log events through OTLP or JSON lines) and the operator's log.

import type { Attributes, ObservableGauge } from '@opentelemetry/api';
import { Console } from 'node:console';
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode, hrTimeToMicroseconds, setGlobalErrorHandler } from '@opentelemetry/core';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import type { LogRecordExporter, LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, DataPointType, InstrumentType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { Config } from './config.ts';
import { ConfigError } from './errors.ts';
import { SERVICE_NAME, VERSION } from './package-info.ts';
import { JsonLinesLogExporter } from './record/json-lines-log-exporter.ts';

export interface Telemetry {
  readonly meterProvider: MeterProvider;
  readonly loggerProvider: LoggerProvider;
  /** Whether any log record processor is configured; without one, log events are not built at all. */
  readonly logsEnabled: boolean;
  /** The text exposition, as /metrics serves it. */
  exposition(): Promise<string>;
  /**
   * Exports the gauge `name` with exactly the series `points` yields at each scrape. OTel's
   * asynchronous instruments keep exporting every attribute set they ever observed
   * (open-telemetry/opentelemetry-js#4096) and, once the series limit is reached, fold new
   * ones into otel_metric_overflow: a per-key gauge would keep cancelled and evicted keys
   * and hide new ones. The instrument observes one placeholder, which keeps the metric in
   * its declared place; its points are replaced before serializing.
   */
  snapshotGauge(name: string, instrument: ObservableGauge, points: () => Iterable<GaugePoint>): void;
  shutdown(): Promise<void>;
}

export interface GaugePoint {
  readonly attributes: Attributes;
  readonly value: number;
}

export interface TelemetryOptions {
  readonly seriesLimit: number;
  /** An open file descriptor for the JSON lines of log events (replay --logs, serve --logs). */
  readonly logsFd: number | undefined;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * OTEL_LOGS_EXPORTER=console: the SDK's ConsoleLogRecordExporter output (same fields, console.dir
 * at depth 3), written to stderr. The SDK's writes to stdout, which carries replay's exposition
 * (and serve's log events with --logs -): a console record there breaks the exposition.
 */
class StderrConsoleLogRecordExporter implements LogRecordExporter {
  private readonly console = new Console({ stdout: process.stderr, stderr: process.stderr });

  export(logs: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    for (const record of logs) {
      this.console.dir(
        {
          resource: { attributes: record.resource.attributes },
          instrumentationScope: record.instrumentationScope,
          timestamp: hrTimeToMicroseconds(record.hrTime),
          traceId: record.spanContext?.traceId,
          spanId: record.spanContext?.spanId,
          traceFlags: record.spanContext?.traceFlags,
          severityText: record.severityText,
          severityNumber: record.severityNumber,
          eventName: record.eventName,
          body: record.body,
          attributes: record.attributes,
        },
        { depth: 3 },
      );
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

/**
 * The OTLP log exporter the standard variables ask for: OTEL_LOGS_EXPORTER=otlp, or an
 * OTLP endpoint set. Unlike the SDK's autoconfiguration we do not default to sending to
 * localhost:4318 when nothing was asked, which would only produce export errors.
 */
async function otlpLogProcessors(env: NodeJS.ProcessEnv): Promise<LogRecordProcessor[]> {
  // The OTel spec reads an empty variable as unset (Helm charts and compose files often set them empty).
  const setting = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const exporters = (setting('OTEL_LOGS_EXPORTER') ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of exporters) {
    if (!['otlp', 'console', 'none'].includes(name)) throw new ConfigError('OTEL_LOGS_EXPORTER', 'OTEL_LOGS_EXPORTER', `expected otlp, console or none, got ${JSON.stringify(name)}`);
  }
  const endpointSet = setting('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT') !== undefined || setting('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined;
  const wantOtlp = exporters.includes('otlp') || (exporters.length === 0 && endpointSet);
  const processors: LogRecordProcessor[] = [];
  if (exporters.includes('console')) processors.push(new SimpleLogRecordProcessor({ exporter: new StderrConsoleLogRecordExporter() }));
  if (!wantOtlp || exporters.includes('none')) return processors;
  const protocolVariable = setting('OTEL_EXPORTER_OTLP_LOGS_PROTOCOL') !== undefined ? 'OTEL_EXPORTER_OTLP_LOGS_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = setting(protocolVariable) ?? 'http/protobuf';
  // Loaded only when asked for: each exporter costs start time and memory that replay does not need.
  if (protocol === 'http/protobuf') {
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-proto');
    processors.push(new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() }));
  } else if (protocol === 'http/json') {
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-http');
    processors.push(new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() }));
  } else {
    const hint = protocol === 'grpc' ? ' (grpc is not bundled; the Collector accepts both on port 4318)' : '';
    throw new ConfigError(protocolVariable, protocolVariable, `expected http/protobuf or http/json${hint}, got ${JSON.stringify(protocol)}`);
  }
  return processors;
}

const EXPORTER_OPTIONS = { withoutScopeInfo: true, withoutTargetInfo: true } as const;

/**
 * The pull reader behind /metrics. Under cumulative temporality the SDK merges every earlier
 * collection into the next, so a series an observable gauge stops observing is exported at
 * its last value forever: a cancelled key deletion would stay on /metrics and keep its alert
 * firing. Observable gauges are therefore read with delta temporality (each collection is
 * exactly what the callbacks observed); everything else stays cumulative (a synchronous gauge
 * such as build_info, set once, would vanish after one scrape under delta).
 */
class ScrapeReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: (type) => (type === InstrumentType.OBSERVABLE_GAUGE ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE) });
  }

  protected override async onShutdown(): Promise<void> {}

  protected override async onForceFlush(): Promise<void> {}
}

export async function buildTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const resource = resourceFromAttributes({ 'service.name': SERVICE_NAME, 'service.version': VERSION }).merge(detectResources({ detectors: [envDetector] }));
  const reader = new ScrapeReader();
  const serializer = new PrometheusSerializer(undefined, false, undefined, EXPORTER_OPTIONS.withoutTargetInfo, EXPORTER_OPTIONS.withoutScopeInfo);
  const meterProvider = new MeterProvider({
    resource,
    readers: [reader],
    views: [{ instrumentName: '*', aggregationCardinalityLimit: options.seriesLimit }],
  });
  const processors = await otlpLogProcessors(options.env);
  if (options.logsFd !== undefined) processors.unshift(new SimpleLogRecordProcessor({ exporter: new JsonLinesLogExporter(options.logsFd) }));
  const loggerProvider = new LoggerProvider({ resource, processors });
  const snapshots = new Map<string, () => Iterable<GaugePoint>>();
  const withSnapshots = (collected: ResourceMetrics): ResourceMetrics => {
    if (snapshots.size === 0) return collected;
    const replace = (metric: MetricData): MetricData[] => {
      const points = snapshots.get(metric.descriptor.name);
      const placeholder = metric.dataPoints[0];
      if (points === undefined || placeholder === undefined || metric.dataPointType !== DataPointType.GAUGE) return [metric];
      const { startTime, endTime } = placeholder;
      const dataPoints = Array.from(points(), ({ attributes, value }) => ({ startTime, endTime, attributes, value }));
      // No series, no family: as an instrument that has observed nothing.
      return dataPoints.length === 0 ? [] : [{ ...metric, dataPoints }];
    };
    return { ...collected, scopeMetrics: collected.scopeMetrics.map((scope) => ({ ...scope, metrics: scope.metrics.flatMap(replace) })) };
  };
  return {
    meterProvider,
    loggerProvider,
    logsEnabled: processors.length > 0,
    async exposition() {
      const { resourceMetrics } = await reader.collect();
      return serializer.serialize(withSnapshots(resourceMetrics));
    },
    snapshotGauge(name, instrument, points) {
      snapshots.set(name, points);
      instrument.addCallback((result) => result.observe(0));
    },
    async shutdown() {
      await loggerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The operator's log: JSON lines on stderr (stdout carries the exposition, or the log events with --logs -). */
export function operatorLog(level: Config['logLevel']): PinoLogger {
  // The push endpoints' keys must never reach a log line, whatever logs a request.
  const redact = ['req.headers["x-amz-firehose-access-key"]', 'headers["x-amz-firehose-access-key"]', 'req.headers.authorization', 'headers.authorization'];
  const log = pino({ level, base: { service: SERVICE_NAME }, redact }, pino.destination({ dest: 2, sync: true }));
  // Export failures reach the operator's log; by default the SDK drops them silently.
  setGlobalErrorHandler((error) => log.error({ err: error }, 'OpenTelemetry export failed; log records dropped'));
  return log;
}
