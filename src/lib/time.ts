/**
 * Timestamps travel as ISO-8601 strings with microseconds ("2020-01-01T08:16:52.962918Z"):
 * a JavaScript Date would drop the last three digits.
 */
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Microseconds since the epoch, or `undefined` when `value` is not an ISO-8601 time. */
export function isoToMicros(value: string): bigint | undefined {
  const m = ISO_RE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    Number.isNaN(ms) ||
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const micros = BigInt(frac.padEnd(6, '0').slice(0, 6));
  return (BigInt(ms) - BigInt(offsetMinutes) * 60_000n) * 1000n + micros;
}

/** Canonical form: UTC, always six fractional digits, `Z` suffix. */
export function microsToIso(micros: bigint): string {
  const rest = ((micros % 1000n) + 1000n) % 1000n;
  const ms = (micros - rest) / 1000n;
  const base = new Date(Number(ms)).toISOString(); // 2020-01-01T08:16:52.962Z
  return `${base.slice(0, 23)}${rest.toString().padStart(3, '0')}Z`;
}

/** Normalises any accepted ISO-8601 string to the canonical form; `undefined` when invalid. */
export function canonicalIso(value: string): string | undefined {
  const micros = isoToMicros(value);
  return micros === undefined ? undefined : microsToIso(micros);
}

export const secondsBetween = (fromIso: string, toIso: string): number =>
  Number((isoToMicros(toIso) ?? 0n) - (isoToMicros(fromIso) ?? 0n)) / 1e6;

/** "HH:MM:SS" (hours may exceed 24). */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

export const nowIso = (): string => microsToIso(BigInt(Date.now()) * 1000n);
