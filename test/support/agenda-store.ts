/**
 * Looks into Agenda's own job store, PostgreSQL table or MongoDB collection, the way an
 * operator would; `makeDue` stands in for the clock reaching a job's time.
 */
import { MongoClient } from 'mongodb';
import type pg from 'pg';

export interface StoredJob {
  readonly nextRunAt: Date | null;
  readonly data: Record<string, unknown> | null;
}

export interface AgendaStore {
  jobs(name: string): Promise<StoredJob[]>;
  makeDue(name: string): Promise<void>;
  close(): Promise<void>;
}

export function postgresAgendaStore(pool: pg.Pool): AgendaStore {
  return {
    async jobs(name) {
      const { rows } = await pool.query<{ next_run_at: Date | null; data: Record<string, unknown> | null }>(
        'select next_run_at, data from agenda_jobs where name = $1 order by next_run_at',
        [name],
      );
      return rows.map((r) => ({ nextRunAt: r.next_run_at, data: r.data }));
    },
    async makeDue(name) {
      await pool.query('update agenda_jobs set next_run_at = now() where name = $1', [name]);
    },
    close: async () => undefined,
  };
}

/** `url` names the database Agenda uses (the MONGODB_URL given to the service). */
export async function mongoAgendaStore(url: string): Promise<AgendaStore & { drop(): Promise<void> }> {
  const client = await MongoClient.connect(url);
  const collection = client.db().collection<{ name: string; nextRunAt: Date | null; data: Record<string, unknown> | null }>('agendaJobs');
  return {
    async jobs(name) {
      const found = await collection.find({ name }).sort({ nextRunAt: 1 }).toArray();
      return found.map((j) => ({ nextRunAt: j.nextRunAt, data: j.data }));
    },
    async makeDue(name) {
      await collection.updateMany({ name }, { $set: { nextRunAt: new Date() } });
    },
    async drop() {
      await client.db().dropDatabase();
    },
    close: () => client.close(),
  };
}
