import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda, type AgendaBackend } from 'agenda';
import type { MongoClient } from 'mongodb';
import type pg from 'pg';

import type { Config } from '../config/config.js';
import type { DatabaseOutage } from '../lib/database-outage.js';
import { errorLine, StartupError } from '../lib/errors.js';
import { createPool } from '../lib/pg-pool.js';
import type { JobHandler, JobName, JobOptions, JobPayloads } from './job-registry.js';

/** The slice of a pino/fastify logger the job runner uses. */
export interface JobLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** How long start-up and a readiness check wait for MongoDB before calling it unreachable. */
const MONGODB_TIMEOUT_MS = 5_000;

/**
 * The adapter around Agenda. Every role can schedule (an API instance that ingests a trip end
 * schedules its export); only `start()` makes this process run jobs. The service connects at
 * start-up (`connect()`), so an unreachable job store stops it with one clear line; other
 * users (CLI, benchmarks) connect on first use.
 *
 * Agenda is a wake-up service here, never the source of truth: jobs carry ids, handlers
 * re-check everything in PostgreSQL, and a job scheduled twice or lost costs nothing.
 */
export class JobQueue {
  /** Identifies this process in task leases and Agenda locks. */
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  /** The readiness check's name: the job store is MongoDB, or the service's own PostgreSQL. */
  readonly storeName: 'mongodb' | 'jobs';
  private agenda: Promise<Agenda> | undefined;
  private backend: AgendaBackend | undefined;
  private pool: pg.Pool | undefined;
  private mongo: MongoClient | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly databaseUrl: string,
    readonly log: JobLog,
    /** Takes the database faults met while PostgreSQL is away (logged once per outage, not per poll). */
    private readonly outage?: Pick<DatabaseOutage, 'absorb'>,
  ) {
    this.storeName = config.mongodbUrl ? 'mongodb' : 'jobs';
  }

  /** Schedules one run of `name` at `at` (now when omitted). */
  async schedule<N extends JobName>(name: N, payload: JobPayloads[N], at?: string | Date): Promise<void> {
    if (this.closed) return;
    const when = at === undefined ? new Date() : new Date(at);
    await (await this.instance()).schedule(when, name, payload);
  }

  /** For after-commit callbacks: schedules without waiting; a failure is logged and the sweeper catches up. */
  scheduleSoon<N extends JobName>(name: N, payload: JobPayloads[N], at?: string | Date): void {
    this.schedule(name, payload, at).catch((err: unknown) => this.report(err, { job: name, payload }, 'could not schedule job'));
  }

  async define<N extends JobName>(name: N, handler: JobHandler<N>, options: JobOptions = {}): Promise<void> {
    (await this.instance()).define<JobPayloads[N]>(
      name,
      async (job) => {
        await handler(job.attrs.data);
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
    await (await this.instance()).every(every, name, payload, { timezone: 'UTC', skipImmediate: typeof every === 'string' });
  }

  /** Starts running the defined jobs in this process. */
  async start(): Promise<void> {
    this.started = true;
    await (await this.instance()).start();
  }

  /** Connects to the job store now; throws a {@link StartupError} naming it when it cannot be reached. */
  async connect(): Promise<void> {
    await this.instance();
  }

  /** Readiness: the job store answers (connecting first if it never did). */
  async check(): Promise<void> {
    await this.instance();
    if (this.mongo) await this.mongo.db().command({ ping: 1 });
    // The table, not just the server: the job store is Agenda's table in our database.
    else await this.pool?.query('select 1 from agenda_jobs limit 1');
  }

  /** Lets running jobs finish (at most `timeoutMs`), then disconnects. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const agenda = await this.agenda?.catch(() => undefined);
    if (agenda && this.started) await agenda.drain({ timeout: timeoutMs, closeConnection: false });
    await this.backend?.disconnect();
    await this.mongo?.close();
    await this.pool?.end();
  }

  private instance(): Promise<Agenda> {
    if (this.closed) return Promise.reject(new Error('job queue is closed'));
    // A failed connection is forgotten, so the next use (or readiness check) tries again.
    this.agenda ??= this.createAgenda().catch((error: unknown) => {
      this.agenda = undefined;
      throw error;
    });
    return this.agenda;
  }

  private async createAgenda(): Promise<Agenda> {
    const backend = await this.connectBackend();
    this.backend = backend;
    const agenda = new Agenda({
      // Agenda calls connect() in its constructor and leaves a failure unhandled, which ended
      // the process (MongoDB unreachable): it gets a backend we have already connected.
      backend: { ...pick(backend), connect: async () => undefined, disconnect: () => backend.disconnect() },
      name: this.workerId,
      processEvery: this.config.jobPollMs,
      maxConcurrency: this.config.exportConcurrency + 4,
    });
    agenda.on('error', (err: Error) => this.report(err, {}, 'job runner error'));
    agenda.on('fail', (err: Error, job: { attrs: { name: string } }) => this.report(err, { job: job.attrs.name }, 'job failed'));
    await agenda.ready;
    return agenda;
  }

  private report(err: unknown, context: object, msg: string): void {
    if (!this.outage?.absorb(err)) this.log.error({ err, ...context }, msg);
  }

  private async connectBackend(): Promise<AgendaBackend> {
    const { mongodbUrl } = this.config;
    if (mongodbUrl) {
      // Loaded only here: the MongoDB driver costs every process that never uses it a third of a
      // second of start-up CPU (most deployments, and each test process).
      const [{ MongoClient }, { MongoBackend }] = await Promise.all([import('mongodb'), import('@agendajs/mongo-backend')]);
      const client = new MongoClient(mongodbUrl, { serverSelectionTimeoutMS: MONGODB_TIMEOUT_MS, connectTimeoutMS: MONGODB_TIMEOUT_MS });
      try {
        await client.connect();
        const backend = new MongoBackend({ mongo: client.db() });
        await backend.connect();
        this.mongo = client;
        return backend;
      } catch (error) {
        await client.close().catch(() => undefined);
        // The URL is not repeated: it may carry a password.
        throw new StartupError(`MongoDB (MONGODB_URL) is unreachable: ${errorLine(error)}. Start MongoDB, correct MONGODB_URL, or unset it to keep jobs in PostgreSQL.`);
      }
    }
    // Our own pool so that a dropped connection, idle or busy, is handled, not thrown.
    this.pool ??= createPool({ connectionString: this.databaseUrl, max: 4 });
    // Polling (JOB_POLL_MS) rather than LISTEN/NOTIFY: exports wait minutes anyway, and the
    // channel would hold a connection per process, NOTIFY on every job start and finish, and
    // its reconnect after a dropped connection could hang shutdown.
    const backend = new PostgresBackend({ pool: this.pool, ensureSchema: false, disableNotifications: true });
    try {
      await backend.connect();
    } catch (error) {
      throw new StartupError(`the job store in PostgreSQL is unreachable: ${errorLine(error)}. Check DATABASE_URL and that PostgreSQL is running.`);
    }
    return backend;
  }
}

/** The parts of a backend Agenda reads besides connect/disconnect (its getters included). */
function pick(backend: AgendaBackend): Omit<AgendaBackend, 'connect' | 'disconnect'> {
  return {
    name: backend.name,
    repository: backend.repository,
    notificationChannel: backend.notificationChannel,
    logger: backend.logger,
    ownsConnection: backend.ownsConnection,
  };
}
