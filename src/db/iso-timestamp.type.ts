import { type Platform, Type } from '@mikro-orm/core';

import { canonicalFromPostgres, canonicalIso } from '../lib/time.js';

/**
 * A `timestamptz` column seen from JavaScript as a canonical ISO string with microseconds.
 * The PostgreSQL driver hands timestamps over as text, so nothing passes through `Date`.
 */
export class IsoTimestampType extends Type<string | null | undefined, string | null | undefined> {
  override convertToDatabaseValue(value: string | null | undefined): string | null | undefined {
    return value;
  }

  override convertToJSValue(value: string | Date | null | undefined): string | null | undefined {
    if (value === null || value === undefined) return value;
    if (value instanceof Date) return canonicalIso(value.toISOString()) ?? value.toISOString();
    return canonicalFromPostgres(value) ?? value;
  }

  override compareAsType(): string {
    return 'string';
  }

  override getColumnType(_prop: unknown, _platform: Platform): string {
    return 'timestamptz(6)';
  }
}
