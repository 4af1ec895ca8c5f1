/**
 * PostgreSQL's binary COPY file format, shared by what writes it (uploads, COPY in) and what
 * reads it (exports, COPY out). https://www.postgresql.org/docs/current/sql-copy.html
 */

/** The 11-byte signature every binary COPY stream starts with. */
export const BINARY_COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** Signature, flags (none) and the length of the header extension (none): 19 bytes. */
export const BINARY_COPY_HEADER = Buffer.concat([BINARY_COPY_SIGNATURE, Buffer.alloc(8)]);

/** A field count of -1 ends the stream. */
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** PostgreSQL's binary timestamps count microseconds from 2000-01-01 UTC. */
export const PG_EPOCH_MICROS = 946_684_800_000_000n;
