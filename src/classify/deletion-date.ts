// Reads the deletion date of ScheduleKeyDeletion, which CloudTrail writes in a non-ISO Java date format.

const MONTHS: Readonly<Record<string, number>> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
// "Apr 12, 2021 18:58:30 PM": a 24-hour clock with a redundant marker, in UTC.
const JAVA_DATE = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2})(?:\s*(AM|PM))?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const DAY_MS = 86_400_000;
/** AWS's default waiting period when the request does not name one. */
export const DEFAULT_PENDING_WINDOW_DAYS = 30;

/** Milliseconds since the epoch, or undefined when the value is not a date we recognise. */
export function parseDeletionDate(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    // The API's own JSON uses epoch seconds; milliseconds would be a year past 5000.
    return value < 1e11 ? value * 1000 : value;
  }
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (ISO_DATE.test(trimmed)) {
    const ms = Date.parse(trimmed);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const java = JAVA_DATE.exec(trimmed);
  if (java === null) return undefined;
  const [, monthName, day, year, hourText, minute, second, marker] = java;
  const month = MONTHS[monthName ?? ''];
  if (month === undefined) return undefined;
  let hour = Number(hourText);
  if (marker === 'PM' && hour < 12) hour += 12;
  if (marker === 'AM' && hour === 12) hour = 0;
  if (hour > 23) return undefined;
  const ms = Date.UTC(Number(year), month, Number(day), hour, Number(minute), Number(second));
  const check = new Date(ms);
  if (check.getUTCDate() !== Number(day) || check.getUTCMonth() !== month) return undefined;
  return ms;
}

/**
 * AWS accepts 7 to 30 days. A wider range is read as given (a record is evidence, not a
 * request to validate), but a value no deletion can have (0, 1e308, a fraction) is not a
 * window: the gauge would read +Inf and the checkpoint could not hold it.
 */
const MAX_PENDING_WINDOW_DAYS = 365;

/** The waiting period a record names, or undefined when it names none that can be real. */
export function pendingWindowDays(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_PENDING_WINDOW_DAYS ? value : undefined;
}

/** The deletion date: the response's if readable, else eventTime plus the waiting period. */
export function deletionDate(responseDate: unknown, eventTime: number, pendingWindowInDays: unknown): { readonly date: number; readonly pendingWindowInDays: number } {
  const days = pendingWindowDays(pendingWindowInDays) ?? DEFAULT_PENDING_WINDOW_DAYS;
  const parsed = parseDeletionDate(responseDate);
  return { date: parsed ?? eventTime + days * DAY_MS, pendingWindowInDays: days };
}
