// A pino logger that keeps its JSON lines in memory, so a test can assert the operator's log line by line.

import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface LogCapture {
  readonly log: PinoLogger;
  /** Every line so far, parsed. */
  lines(): LogLine[];
}

export function captureLog(level: pino.LevelWithSilent = 'info'): LogCapture {
  const lines: LogLine[] = [];
  const log = pino({ level, base: null, timestamp: false }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { log, lines: () => [...lines] };
}

/** pino's numeric levels, by name. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
