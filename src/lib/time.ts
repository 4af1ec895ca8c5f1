/**
 * Timestamps travel as ISO-8601 strings with microseconds ("2020-01-01T08:16:52.962918Z"):
 * a JavaScript Date would drop the last three digits.
 */
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** A day of the calendar, in a year from 100: Date.UTC reads years 0-99 as 1900-1999, so those are refused. */
function isCalendarDay(year: number, month: number, day: number): boolean {
  const days = DAYS_IN_MONTH[month - 1];
  return year >= 100 && days !== undefined && day >= 1 && day <= (month === 2 && isLeap(year) ? 29 : days);
}

/** The last UTC second parsed ("2020-01-01T08:16:52") and its milliseconds since the epoch. */
let parsedSecond = '\0';
let parsedSecondMs = 0;
const DIGIT_0 = 48;
const Z = 90;
const DOT = 46;
const T = 84;
const DASH = 45;
const COLON = 58;

/**
 * Microseconds since the epoch, or `undefined` when `value` is not an ISO-8601 time.
 * Called once per uploaded record, so it works in Numbers (exact below 2^53 µs, the year 2255)
 * and makes one BigInt at the end. A device's records come many to a second: a UTC time in the
 * same second as the last one parsed only has its fraction read (the regular expression and
 * the calendar were a large share of parsing a batch: bench/results.md).
 */
export function isoToMicros(value: string): bigint | undefined {
  if (value.startsWith(parsedSecond) && value.charCodeAt(value.length - 1) === Z) {
    const micros = fractionMicros(value, 19, value.length - 1);
    if (micros !== undefined) return BigInt(parsedSecondMs * 1000 + micros);
  }
  return parseIso(value);
}

/** `.` and 1-9 digits (or nothing) between `from` and `to`, as microseconds; else undefined. */
function fractionMicros(value: string, from: number, to: number): number | undefined {
  if (from === to) return 0;
  const digits = to - from - 1;
  if (value.charCodeAt(from) !== DOT || digits < 1 || digits > 9) return undefined;
  let micros = 0;
  for (let i = 1; i <= 9; i++) {
    const digit = i <= digits ? value.charCodeAt(from + i) - DIGIT_0 : 0;
    if (digit < 0 || digit > 9) return undefined;
    if (i <= 6) micros = micros * 10 + digit;
  }
  return micros;
}

function parseIso(value: string): bigint | undefined {
  const m = ISO_RE.exec(value);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac = '', zone = 'Z'] = m;
  const y = Number(ys);
  const mo = Number(mos);
  const d = Number(ds);
  const h = Number(hs);
  const mi = Number(mis);
  const s = Number(ss);
  if (!isCalendarDay(y, mo, d) || h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - offsetMinutes * 60_000;
  if (m[8] === 'Z' && value.charCodeAt(10) === 84 /* T */ && Number.isSafeInteger(ms * 1000 + 999_999)) {
    parsedSecond = value.slice(0, 19);
    parsedSecondMs = ms;
  }
  const micros = Number(frac.padEnd(6, '0').slice(0, 6));
  const total = ms * 1000 + micros;
  return Number.isSafeInteger(total) ? BigInt(total) : BigInt(ms) * 1000n + BigInt(micros);
}

/** The last second formatted: a device's records come many to a second, in order. */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** Canonical form: UTC, always six fractional digits, `Z` suffix. */
export function microsToIso(micros: bigint): string {
  const n = Number(micros);
  if (!Number.isSafeInteger(n)) {
    const rest = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
    const seconds = (micros - rest) / 1_000_000n;
    return `${new Date(Number(seconds) * 1000).toISOString().slice(0, -4)}${rest.toString().padStart(6, '0')}Z`;
  }
  const second = Math.floor(n / 1_000_000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -4); // 2020-01-01T08:16:52.
    cachedSecond = second;
  }
  const rest = n - second * 1_000_000;
  return `${cachedPrefix}${String(rest).padStart(6, '0')}Z`;
}

/** PostgreSQL's text of a `timestamptz` in a UTC session: `2020-01-01 08:16:52.9629+00`. */
const PG_UTC_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.(\d{1,6}))?\+00$/;

/**
 * The canonical form of a timestamp as PostgreSQL prints it in a UTC session, by rearranging
 * the text (PostgreSQL checked the calendar already); anything else goes through {@link canonicalIso}.
 * Read paths convert every timestamp of every row, and parsing was a tenth of a page's CPU.
 */
export function canonicalFromPostgres(text: string): string | undefined {
  const m = PG_UTC_RE.exec(text);
  if (!m) return canonicalIso(text);
  return `${text.slice(0, 10)}T${text.slice(11, 19)}.${(m[1] ?? '').padEnd(6, '0')}Z`;
}

/** Normalises any accepted ISO-8601 string to the canonical form; `undefined` when invalid. */
export function canonicalIso(value: string): string | undefined {
  const micros = isoToMicros(value);
  return micros === undefined ? undefined : microsToIso(micros);
}

/** The digits of `value` from `from` to `to` as a number; NaN when one is not a digit. */
function digits(value: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = value.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Milliseconds since the epoch of the whole second of a canonical time (`YYYY-MM-DDTHH:MM:SS`
 * first), from its digits: the day by `Date.UTC` (a quarter of the time of `Date.parse` of the
 * text), remembered for the next time of the same day. NaN for anything that is not a real
 * calendar second.
 */
function canonicalSecondMs(value: string): number {
  if (value.charCodeAt(10) !== T || value.charCodeAt(13) !== COLON || value.charCodeAt(16) !== COLON) return NaN;
  const dayMs = value.startsWith(cachedDay) ? cachedDayMs : canonicalDayMs(value);
  const hour = digits(value, 11, 13);
  const minute = digits(value, 14, 16);
  const second = digits(value, 17, 19);
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return NaN;
  return dayMs + ((hour * 60 + minute) * 60 + second) * 1000;
}

/** The last day read by {@link canonicalDayMs} (`YYYY-MM-DD`) and its first millisecond: a page's times share few days. */
let cachedDay = '\0';
let cachedDayMs = 0;

/** Milliseconds since the epoch of the day a canonical time starts with; NaN for no real calendar day. */
function canonicalDayMs(value: string): number {
  if (value.charCodeAt(4) !== DASH || value.charCodeAt(7) !== DASH) return NaN;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 7);
  const day = digits(value, 8, 10);
  if (!isCalendarDay(year, month, day)) return NaN;
  cachedDay = value.slice(0, 10);
  cachedDayMs = Date.UTC(year, month - 1, day);
  return cachedDayMs;
}

/**
 * Microseconds since the epoch of a time in the canonical form (`YYYY-MM-DDTHH:MM:SS.ffffffZ`,
 * what the service stores and answers), as a Number: the calendar is `Date.UTC` of its digits
 * of the whole seconds. Anything else goes through {@link isoToMicros}. A trip's duration is
 * computed for every trip of every page, and the regular expression was a fiftieth of a page.
 */
function micros(value: string): number {
  if (value.length === 27 && value.charCodeAt(19) === DOT && value.charCodeAt(26) === Z) {
    const ms = canonicalSecondMs(value);
    const fraction = fractionMicros(value, 19, 26);
    if (!Number.isNaN(ms) && fraction !== undefined) return ms * 1000 + fraction;
  }
  return Number(isoToMicros(value) ?? 0n);
}

export const secondsBetween = (fromIso: string, toIso: string): number => (micros(toIso) - micros(fromIso)) / 1e6;

/** "HH:MM:SS" (hours may exceed 24). */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

export const nowIso = (): string => microsToIso(BigInt(Date.now()) * 1000n);
