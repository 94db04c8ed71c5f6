// Writes OTel log records as JSON lines (replay --logs FILE, or stdout), one self-contained object per change.

import { writeSync } from 'node:fs';
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode, hrTimeToMilliseconds } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';

export function logRecordToJson(record: ReadableLogRecord): object {
  return {
    timestamp: new Date(hrTimeToMilliseconds(record.hrTime)).toISOString(),
    observedTimestamp: new Date(hrTimeToMilliseconds(record.hrTimeObserved)).toISOString(),
    severityNumber: record.severityNumber,
    severityText: record.severityText,
    eventName: record.eventName,
    body: record.body,
    attributes: record.attributes,
    resource: record.resource.attributes,
  };
}

/** writeSync may write part of a buffer, or refuse with EAGAIN on a non-blocking pipe; keep going. */
function writeAllSync(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

export class JsonLinesLogExporter implements LogRecordExporter {
  private readonly fd: number;

  /** `fd` is an open file descriptor (1 for stdout); the caller owns it. */
  constructor(fd: number) {
    this.fd = fd;
  }

  export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    try {
      const text = logs.map((record) => `${JSON.stringify(logRecordToJson(record))}\n`).join('');
      // Synchronous: a replay's log file is complete when the process exits.
      writeAllSync(this.fd, Buffer.from(text));
      resultCallback({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  async shutdown(): Promise<void> {}

  async forceFlush(): Promise<void> {}
}
