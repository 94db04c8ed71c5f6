// Log lines that a flood (bad records, refused requests, a failing API) must not turn into a flood of the operator's log.

import type { Logger as PinoLogger } from 'pino';

export type ThrottledLog = (level: 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;

/** At most `perMinute` lines a minute; the rest are counted and summed up in one line when the minute is over. */
export function throttledLog(log: PinoLogger, now: () => number, perMinute = 20): ThrottledLog {
  let windowStart = Number.NEGATIVE_INFINITY;
  let logged = 0;
  let suppressed = 0;
  return (level, fields, message) => {
    const time = now();
    if (time - windowStart > 60_000) {
      if (suppressed > 0) log.warn({ suppressed }, `${suppressed} similar log lines suppressed in the last minute`);
      windowStart = time;
      logged = 0;
      suppressed = 0;
    }
    if (logged >= perMinute) {
      suppressed++;
      return;
    }
    logged++;
    log[level](fields, message);
  };
}
