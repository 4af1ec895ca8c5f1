/**
 * The lines of a trip when some of them are stored as record segments: what parallelGzip is fed
 * so that a segment wholly inside the trip goes out as its stored deflate bytes, and only the
 * rest (segments the trip cuts, rows, late rows inside a segment's time) is compressed afresh.
 * The text is the one the row path writes: every line by `(ts, line)`, lines compared as bytes.
 */
import type pg from 'pg';

import { CopyLinesStream } from '../../db/copy-lines.stream.js';
import { isUuid } from '../../lib/ids.js';
import { isoToMicros, microsToIso } from '../../lib/time.js';
import { decodeSegment, type DeflatePiece, lineMicros, lineStarts } from '../ingest/segment-codec.js';

export interface SegmentInfo {
  readonly id: string;
  readonly first: bigint;
  readonly last: bigint;
  readonly records: number;
  readonly rawLength: number;
  readonly crc32: number;
  /** Bytes of its deflate data. */
  readonly storedLength: number;
}

/** A stretch of the trip's time, in the order the file holds them; bounds inclusive, in µs. */
export type Stretch =
  | { readonly kind: 'copy'; readonly segment: SegmentInfo }
  | { readonly kind: 'rows'; readonly from: bigint; readonly to: bigint }
  | { readonly kind: 'merge'; readonly segment: SegmentInfo; readonly from: bigint; readonly to: bigint; readonly rows: boolean };

/** Lines written so far and the `@ts` of the first and last, for the export's result. */
export interface LineCount {
  records: number;
  first: bigint | null;
  last: bigint | null;
}

const count = (into: LineCount, records: number, first: bigint, last: bigint): void => {
  if (records === 0) return;
  into.records += records;
  if (into.first === null || first < into.first) into.first = first;
  if (into.last === null || last > into.last) into.last = last;
};

/**
 * The trip `[start, end]` as stretches: each segment (they never overlap, sorted by time) is
 * copied when it lies wholly inside the trip and no row shares its time; otherwise its lines in
 * the trip are decoded and merged with the rows of its time. The time between segments holds
 * rows only. `hasRows(from, to)` says whether any row lies in `[from, to]`.
 */
export function planStretches(start: bigint, end: bigint, segments: readonly SegmentInfo[], hasRows: (from: bigint, to: bigint) => boolean): Stretch[] {
  const out: Stretch[] = [];
  let cursor = start;
  for (const segment of segments) {
    if (cursor < segment.first && hasRows(cursor, segment.first - 1n)) out.push({ kind: 'rows', from: cursor, to: segment.first - 1n });
    const from = segment.first > start ? segment.first : start;
    const to = segment.last < end ? segment.last : end;
    const rows = hasRows(from, to);
    if (from === segment.first && to === segment.last && !rows) out.push({ kind: 'copy', segment });
    else out.push({ kind: 'merge', segment, from, to, rows });
    cursor = segment.last + 1n;
  }
  if (cursor <= end && hasRows(cursor, end)) out.push({ kind: 'rows', from: cursor, to: end });
  return out;
}

/** The intervals {@link planStretches} may ask about, so that one query answers them all. */
export function rowIntervals(start: bigint, end: bigint, segments: readonly SegmentInfo[]): [bigint, bigint][] {
  const asked: [bigint, bigint][] = [];
  planStretches(start, end, segments, (from, to) => (asked.push([from, to]), false));
  return asked;
}

const iso = (micros: bigint): string => microsToIso(micros);

/** The device's segments that share time with `[start, end]`, by time. */
export async function segmentsOverlapping(client: pg.ClientBase, deviceId: string, start: string, end: string): Promise<SegmentInfo[]> {
  const { rows } = await client.query<{ id: string; first: string; last: string; record_count: number; raw_length: number; crc32: string; stored_length: number }>(
    `select id::text, (extract(epoch from first_ts) * 1000000)::bigint::text as first, (extract(epoch from last_ts) * 1000000)::bigint::text as last,
            record_count, raw_length, crc32::text, octet_length(data) as stored_length
       from record_segments
      where device_id = $1 and first_ts <= $3::timestamptz and last_ts >= $2::timestamptz
        -- segments never overlap: none before the last one that starts by the trip's start
        and first_ts >= coalesce((select max(first_ts) from record_segments where device_id = $1 and first_ts <= $2::timestamptz), '-infinity')
      order by first_ts`,
    [deviceId, start, end],
  );
  return rows.map((r) => ({
    id: r.id,
    first: BigInt(r.first),
    last: BigInt(r.last),
    records: r.record_count,
    rawLength: r.raw_length,
    crc32: Number(r.crc32),
    storedLength: r.stored_length,
  }));
}

/** Whether rows of the device lie in each interval: one query, one index probe each. */
async function rowsIn(client: pg.ClientBase, deviceId: string, intervals: readonly [bigint, bigint][]): Promise<(from: bigint, to: bigint) => boolean> {
  const { rows } = await client.query<{ found: boolean }>(
    `select exists (select from records r where r.device_id = $1 and r.ts between i.lo and i.hi) as found
       from unnest($2::timestamptz[], $3::timestamptz[]) with ordinality as i(lo, hi, n) order by n`,
    [deviceId, intervals.map(([from]) => iso(from)), intervals.map(([, to]) => iso(to))],
  );
  const found = new Map(intervals.map(([from, to], i) => [`${from}:${to}`, rows[i]!.found]));
  return (from, to) => found.get(`${from}:${to}`) ?? true;
}

/** Plans the trip's stretches against the rows that exist now (call inside the export's snapshot). */
export async function planTrip(client: pg.ClientBase, deviceId: string, start: string, end: string, segments: readonly SegmentInfo[]): Promise<Stretch[]> {
  const from = isoToMicros(start)!;
  const to = isoToMicros(end)!;
  const hasRows = await rowsIn(client, deviceId, rowIntervals(from, to, segments));
  return planStretches(from, to, segments, hasRows);
}

/** Segments' data fetched per COPY: about 4 MiB. */
const FETCH_BYTES = 4 << 20;

/**
 * The data of `segments`, in their order, by binary COPY: the bytes as stored, each followed by
 * a newline, in one block of exactly their length (node-pg would send bytea as hex text, twice
 * the bytes, and parse it).
 */
async function segmentData(client: pg.ClientBase, segments: readonly SegmentInfo[]): Promise<Buffer[]> {
  const ids = segments.map((s) => s.id);
  if (!ids.every((id) => /^\d+$/.test(id))) throw new Error('bad segment ids');
  const total = segments.reduce((n, s) => n + s.storedLength + 1, 0);
  const copy = client.query(
    new CopyLinesStream(
      `copy (select s.data from unnest('{${ids.join(',')}}'::bigint[]) with ordinality as i(id, n) join record_segments s on s.id = i.id order by i.n) to stdout with (format binary)`,
      { blockSize: total },
    ),
  );
  const blocks: Buffer[] = [];
  for await (const block of copy as AsyncIterable<Buffer>) blocks.push(block);
  if (copy.rowCount !== ids.length || blocks.length !== 1 || blocks[0]!.length !== total) throw new Error('a record segment went missing during an export');
  let at = 0;
  return segments.map((s) => blocks[0]!.subarray(at, (at += s.storedLength + 1) - 1));
}

export interface AssemblyOptions {
  /** Bytes per block of rows read with COPY. */
  readonly blockSize: number;
}

/**
 * The trip line, then each stretch: stored segments as {@link DeflatePiece}s, everything else
 * as text. Runs its queries on `client` one after another, inside the caller's snapshot.
 */
export async function* tripPieces(
  client: pg.ClientBase,
  deviceId: string,
  header: string,
  stretches: readonly Stretch[],
  counted: LineCount,
  options: AssemblyOptions,
): AsyncGenerator<Buffer | DeflatePiece> {
  if (!isUuid(deviceId)) throw new Error(`bad device id ${String(deviceId)}`);
  yield Buffer.from(`${header}\n`);
  const wanted = stretches.flatMap((s) => (s.kind === 'rows' ? [] : [s.segment]));
  let fetched: Buffer[] = [];
  let next = 0;
  const dataOf = async (): Promise<Buffer> => {
    if (fetched.length === 0) {
      let end = next + 1;
      for (let bytes = wanted[next]!.storedLength; end < wanted.length && bytes + wanted[end]!.storedLength <= FETCH_BYTES; end++) bytes += wanted[end]!.storedLength;
      fetched = await segmentData(client, wanted.slice(next, end));
      next += fetched.length;
    }
    return fetched.shift()!;
  };
  for (const stretch of stretches) {
    if (stretch.kind === 'copy') {
      const { segment } = stretch;
      count(counted, segment.records, segment.first, segment.last);
      yield { data: await dataOf(), crc32: segment.crc32, rawLength: segment.rawLength };
    } else if (stretch.kind === 'rows') {
      const copy = client.query(new CopyLinesStream(linesSql(deviceId, stretch.from, stretch.to), { blockSize: options.blockSize }));
      yield* copy as AsyncIterable<Buffer>;
      if (copy.rowCount > 0) count(counted, copy.rowCount, ...(await rowBounds(client, deviceId, stretch.from, stretch.to)));
    } else {
      const rows = stretch.rows ? await rowsWithTime(client, deviceId, stretch.from, stretch.to) : [];
      yield* merged(decodeSegment(await dataOf()), stretch.from, stretch.to, rows, counted);
    }
  }
}

function linesSql(deviceId: string, from: bigint, to: bigint): string {
  return `copy (select line from records where device_id = '${deviceId}' and ts between '${iso(from)}' and '${iso(to)}' order by ts, line collate "C") to stdout with (format binary)`;
}

async function rowBounds(client: pg.ClientBase, deviceId: string, from: bigint, to: bigint): Promise<[bigint, bigint]> {
  const { rows } = await client.query<{ first: string; last: string }>(
    `select (extract(epoch from min(ts)) * 1000000)::bigint::text as first, (extract(epoch from max(ts)) * 1000000)::bigint::text as last
       from records where device_id = $1 and ts between $2::timestamptz and $3::timestamptz`,
    [deviceId, iso(from), iso(to)],
  );
  return [BigInt(rows[0]!.first), BigInt(rows[0]!.last)];
}

interface TimedLine {
  readonly at: bigint;
  /** The line and its '\n'. */
  readonly line: Buffer;
}

/** Rows inside a segment's time: late data, few. */
async function rowsWithTime(client: pg.ClientBase, deviceId: string, from: bigint, to: bigint): Promise<TimedLine[]> {
  const { rows } = await client.query<{ at: string; line: string }>(
    `select (extract(epoch from ts) * 1000000)::bigint::text as at, line from records
      where device_id = $1 and ts between $2::timestamptz and $3::timestamptz order by ts, line collate "C"`,
    [deviceId, iso(from), iso(to)],
  );
  return rows.map((r) => ({ at: BigInt(r.at), line: Buffer.from(`${r.line}\n`) }));
}

/**
 * The segment's lines inside `[from, to]` merged with `rows` by `(ts, line)`. Lines are
 * sorted, so the cut and each row's place are found by binary search; only the lines it
 * probes have their `@ts` read, and runs of segment lines go out as views of the decoded text.
 */
function* merged(text: Buffer, from: bigint, to: bigint, rows: readonly TimedLine[], counted: LineCount): Generator<Buffer> {
  const starts = lineStarts(text);
  const lines = starts.length - 1;
  // Without the '\n': "a" sorts before "a…" whatever follows, as in PostgreSQL's "C" collation.
  const lineOf = (i: number): Buffer => text.subarray(starts[i], starts[i + 1]! - 1);
  const times = new Map<number, bigint>();
  const at = (i: number): bigint => {
    let t = times.get(i);
    if (t === undefined) times.set(i, (t = lineMicros(lineOf(i))));
    return t;
  };
  /** The first line in `[lo, hi)` for which `before(i)` is false. */
  const search = (lo: number, hi: number, before: (i: number) => boolean): number => {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(mid)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const begin = search(0, lines, (i) => at(i) < from);
  const finish = search(begin, lines, (i) => at(i) <= to);
  count(counted, finish - begin, begin < finish ? at(begin) : 0n, begin < finish ? at(finish - 1) : 0n);
  let cursor = begin;
  for (const row of rows) {
    const bare = row.line.subarray(0, -1);
    // Segment lines that sort at or before the row go first (equal lines are the same bytes).
    const upTo = search(cursor, finish, (i) => at(i) < row.at || (at(i) === row.at && Buffer.compare(lineOf(i), bare) <= 0));
    if (upTo > cursor) yield text.subarray(starts[cursor], starts[upTo]);
    cursor = upTo;
    yield row.line;
  }
  count(counted, rows.length, rows[0]?.at ?? 0n, rows.at(-1)?.at ?? 0n);
  if (finish > cursor) yield text.subarray(starts[cursor], starts[finish]);
}
