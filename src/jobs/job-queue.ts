import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Agenda, type AgendaBackend } from 'agenda';
import { MongoBackend } from '@agendajs/mongo-backend';
import { PostgresBackend } from '@agendajs/postgres-backend';
import type pg from 'pg';
import type { Config } from '../config/config.js';
import type { DatabaseOutage } from '../lib/database-outage.js';
import { createPool } from '../lib/pg-pool.js';
import type { JobHandler, JobName, JobOptions, JobPayloads } from './job-registry.js';

/** The slice of a pino/fastify logger the job runner uses. */
export interface JobLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The adapter around Agenda. Every role can schedule (an API instance that ingests a trip end
 * schedules its export); only `start()` makes this process run jobs. Agenda is created on first
 * use, so an instance that never schedules never connects.
 *
 * Agenda is a wake-up service here, never the source of truth: jobs carry ids, handlers
 * re-check everything in PostgreSQL, and a job scheduled twice or lost costs nothing.
 */
export class JobQueue {
  /** Identifies this process in task leases and Agenda locks. */
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private agenda: Agenda | undefined;
  private backend: AgendaBackend | undefined;
  private pool: pg.Pool | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly databaseUrl: string,
    readonly log: JobLog,
    /** Takes the database faults met while PostgreSQL is away (logged once per outage, not per poll). */
    private readonly outage?: Pick<DatabaseOutage, 'absorb'>,
  ) {}

  /** Schedules one run of `name` at `at` (now when omitted). */
  async schedule<N extends JobName>(name: N, payload: JobPayloads[N], at?: string | Date): Promise<void> {
    if (this.closed) return;
    const when = at === undefined ? new Date() : new Date(at);
    await this.instance().schedule(when, name, payload);
  }

  /** For after-commit callbacks: schedules without waiting; a failure is logged and the sweeper catches up. */
  scheduleSoon<N extends JobName>(name: N, payload: JobPayloads[N], at?: string | Date): void {
    this.schedule(name, payload, at).catch((err: unknown) => this.report(err, { job: name, payload }, 'could not schedule job'));
  }

  define<N extends JobName>(name: N, handler: JobHandler<N>, options: JobOptions = {}): void {
    this.instance().define<JobPayloads[N]>(
      name,
      async (job) => {
        await handler(job.attrs.data, { touch: () => job.touch() });
      },
      {
        concurrency: options.concurrency ?? 1,
        // Without a lock limit one worker locks every due job and runs them one by one while
        // the others idle.
        lockLimit: options.concurrency ?? 1,
        lockLifetime: options.lockLifetimeMs ?? 10 * 60_000,
        removeOnComplete: options.repeat === undefined,
      },
    );
  }

  /** Creates (or updates) the one repeating job of `name`. */
  async repeat<N extends JobName>(name: N, payload: JobPayloads[N], every: number | string): Promise<void> {
    await this.instance().every(every, name, payload, { timezone: 'UTC', skipImmediate: typeof every === 'string' });
  }

  /** Starts running the defined jobs in this process. */
  async start(): Promise<void> {
    this.started = true;
    await this.instance().start();
  }

  /** Lets running jobs finish (at most `timeoutMs`), then disconnects. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const agenda = this.agenda;
    if (!agenda) return;
    await agenda.ready;
    if (this.started) await agenda.drain({ timeout: timeoutMs, closeConnection: false });
    await this.backend?.disconnect();
    await this.pool?.end();
  }

  private instance(): Agenda {
    if (this.closed) throw new Error('job queue is closed');
    if (this.agenda) return this.agenda;
    this.backend = this.createBackend();
    this.agenda = new Agenda({
      backend: this.backend,
      name: this.workerId,
      processEvery: this.config.jobPollMs,
      maxConcurrency: this.config.exportConcurrency + 4,
    });
    this.agenda.on('error', (err: Error) => this.report(err, {}, 'job runner error'));
    this.agenda.on('fail', (err: Error, job: { attrs: { name: string } }) => this.report(err, { job: job.attrs.name }, 'job failed'));
    return this.agenda;
  }

  private report(err: unknown, context: object, msg: string): void {
    if (!this.outage?.absorb(err)) this.log.error({ err, ...context }, msg);
  }

  private createBackend(): AgendaBackend {
    if (this.config.mongodbUrl) return new MongoBackend({ address: this.config.mongodbUrl });
    // Our own pool so that a dropped connection, idle or busy, is handled, not thrown.
    this.pool = createPool({ connectionString: this.databaseUrl, max: 4 });
    // Polling (JOB_POLL_MS) rather than LISTEN/NOTIFY: exports wait minutes anyway, and the
    // channel would hold a connection per process, NOTIFY on every job start and finish, and
    // its reconnect after a dropped connection could hang shutdown.
    return new PostgresBackend({ pool: this.pool, ensureSchema: false, disableNotifications: true });
  }
}
