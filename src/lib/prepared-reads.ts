/**
 * Read statements sent as prepared statements, straight to a connection of the ORM's pool.
 *
 * MikroORM's `execute` writes every parameter into the SQL text and knex sends the text as a
 * simple query, so PostgreSQL parses and plans every read anew: for a page of 20 rows that was
 * more than half of PostgreSQL's CPU (the planner on a join with a lateral page), and PostgreSQL
 * shares this machine's two cores with the service. Here each distinct statement text is
 * prepared once per connection under a name of its own (`pg`'s `name`), later runs only bind
 * and execute, and PostgreSQL may keep a generic plan: PostgreSQL's CPU for a page of the
 * legacy trip list fell from 0.61 to 0.20 ms, and the list went from 1,161 to 1,788 requests/s
 * (bench/results.md, "API reads").
 *
 * The SQL keeps the `?` placeholders the rest of the code writes; an array is ONE parameter (a
 * PostgreSQL array), so lists are written `= ANY(?)`, never `IN (?)`, and every list length is
 * the same statement.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';

import { isDatabaseUnavailable } from './database-outage.js';
import { runPipelined } from './read-pipeline.js';

type Row = Record<string, unknown>;

/** What knex's client hands out: the `pg.Client` of a pooled connection. */
interface PooledConnections {
  acquireConnection(): Promise<pg.ClientBase>;
  releaseConnection(connection: pg.ClientBase): Promise<unknown>;
}

/**
 * More distinct texts than the code can write means texts are being built from data: such a
 * statement runs unnamed rather than leave a prepared statement behind on every connection.
 */
const MAX_NAMED = 500;

/** `$n` text and statement name by `?` text. */
const statements = new Map<string, { readonly text: string; readonly name: string | undefined }>();
/** Bumped when PostgreSQL refused a prepared statement whose tables changed: every name is new. */
let generation = 0;

function statementOf(sql: string): { readonly text: string; readonly name: string | undefined } {
  let statement = statements.get(sql);
  if (!statement) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    statement = { text, name: statements.size < MAX_NAMED ? `read_${generation}_${statements.size}` : undefined };
    statements.set(sql, statement);
  }
  return statement;
}

/**
 * `0A000` "cached plan must not change result type": a migration changed a table under a
 * `SELECT *` this connection had prepared (a rolling deploy, another instance migrating first).
 */
function isStalePlan(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '0A000';
}

/** A read waiting for the end of its tick, and who waits for its rows. */
interface PendingRead {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly resolve: (rows: Row[]) => void;
  readonly reject: (error: unknown) => void;
}

/** By EntityManager (one per request): the reads asked for in this tick, not sent yet. */
const pending = new WeakMap<EntityManager, PendingRead[]>();
const resolved = Promise.resolve();

/**
 * Runs the read `sql` (`?` placeholders, `params` in order, an array as one parameter) on a
 * connection of `em`'s pool, outside any transaction of `em`, and answers its rows.
 *
 * Reads asked for on the same `em` in the same tick (the root fields of one GraphQL operation,
 * a page's loaders) are sent together, as one pipeline on one connection (see
 * `read-pipeline.ts`); if that fails, each runs alone, so each gets its own answer or error. The
 * tick ends as DataLoader's does: after every promise job queued so far.
 *
 * A read whose connection was lost under it (PostgreSQL ended it while it sat idle in the pool,
 * or during the statement) is sent once more on another: reading twice changes nothing. When
 * no connection can be had at all, the error stands (the caller answers 503).
 */
export function readRows<R = Row>(em: EntityManager, sql: string, params: readonly unknown[]): Promise<R[]> {
  return new Promise<Row[]>((resolve, reject) => {
    let reads = pending.get(em);
    if (!reads) {
      const batch: PendingRead[] = (reads = []);
      pending.set(em, batch);
      void resolved.then(() =>
        process.nextTick(() => {
          pending.delete(em);
          send(em, batch).catch((error: unknown) => {
            for (const read of batch) read.reject(error);
          });
        }),
      );
    }
    reads.push({ sql, params, resolve, reject });
  }) as Promise<R[]>;
}

/**
 * Sends one tick's reads: alone, or together, with every read run alone again if the batch
 * failed. An error it throws (no connection to be had, as for a read alone) is every read's.
 */
async function send(em: EntityManager, reads: readonly PendingRead[]): Promise<void> {
  const pool = em.getConnection().getKnex().client as PooledConnections;
  const alone = (read: PendingRead): Promise<void> => runAlone(pool, read.sql, read.params).then(read.resolve, read.reject);
  // The common case, one read: nothing to batch (runAlone looks its statement up itself).
  if (reads.length === 1) return alone(reads[0]!);
  const statements = reads.map((read) => statementOf(read.sql));
  if (statements.some((statement) => statement.name === undefined)) {
    await Promise.all(reads.map(alone));
    return;
  }
  const connection = await pool.acquireConnection();
  let answers: Row[][] | undefined;
  try {
    // A failed batch answers nothing: its reads run alone below.
    answers = await runPipelined(
      connection,
      reads.map((read, i) => ({ text: statements[i]!.text, name: statements[i]!.name!, values: read.params })),
    ).catch(() => undefined);
  } finally {
    await pool.releaseConnection(connection);
  }
  if (answers) reads.forEach((read, i) => read.resolve(answers[i]!));
  else await Promise.all(reads.map(alone));
}

/** One read on a connection of its own (see {@link readRows} for the retry). */
async function runAlone(pool: PooledConnections, sql: string, params: readonly unknown[]): Promise<Row[]> {
  let sent = false;
  const run = async (): Promise<Row[]> => {
    const { text, name } = statementOf(sql);
    const connection = await pool.acquireConnection();
    sent = true;
    try {
      const result = await connection.query<Row>({ text, name, values: params as unknown[] });
      return result.rows;
    } finally {
      await pool.releaseConnection(connection);
    }
  };
  try {
    return await run();
  } catch (error) {
    if (isStalePlan(error)) {
      generation += 1;
      statements.clear();
    } else if (!sent || !isDatabaseUnavailable(error)) {
      throw error;
    }
    return run();
  }
}
