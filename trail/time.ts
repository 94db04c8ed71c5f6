// Time as CloudTrail writes it: seconds-precision ISO eventTimes, and the non-ISO date strings inside request and response elements.

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

let cachedSecond = NaN;
let cachedIso = '';
/** eventTime's form: "2026-11-20T08:20:27Z" (no milliseconds). */
export function iso(ms: number): string {
  // A large trail asks for the same second a dozen times in a row.
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedIso = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return cachedIso;
}

/** The AWS KMS guide's ScheduleKeyDeletion example form: "Apr 12, 2021 18:58:30 PM" (24-hour clock, then AM/PM). */
export function kmsDoc24h(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${pad2(h)}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

/** Java's medium date-time form, as in "Nov 18, 2020, 1:29:18 AM" (12-hour clock). */
export function javaMedium(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h12}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}
