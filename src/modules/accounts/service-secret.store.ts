/**
 * Secrets the service makes for itself and every instance must share (today: the JWT
 * secret when JWT_SECRET is unset). They live in PostgreSQL because that is the one thing
 * all instances already share; whoever inserts first wins and everybody reads the winner.
 */
import type { Logger } from 'pino';

import type { Config } from '../../config/config.js';
import type { Queryable } from '../../lib/domain-events.js';

export interface KeptSecret {
  readonly value: string;
  readonly createdAt: string;
  /** This call stored `candidate`; false when another instance (or an earlier start) had. */
  readonly createdNow: boolean;
}

/** The secret kept under `name`, storing `candidate` first when there is none yet. */
async function keepFirstSecret(q: Queryable, name: string, candidate: string): Promise<KeptSecret> {
  // Insert-if-absent, then read: two instances starting at once both end with the winner's value.
  const inserted = await q.query(`insert into service_secrets (name, value) values ($1, $2) on conflict (name) do nothing`, [name, candidate]);
  const { rows } = await q.query<{ value: string; created_at: Date }>(`select value, created_at from service_secrets where name = $1`, [name]);
  const row = rows[0];
  if (!row) throw new Error(`service secret "${name}" vanished right after it was stored`);
  return { value: row.value, createdAt: row.created_at.toISOString(), createdNow: (inserted.rowCount ?? 0) > 0 };
}

/**
 * The configuration with its JWT secret settled: JWT_SECRET when set, else the secret the
 * first instance generated and kept in the database (said in one log line, since every
 * signed thing depends on it).
 */
export async function withKeptJwtSecret(config: Config, q: Queryable, log: Pick<Logger, 'warn'>): Promise<Config> {
  if (!config.jwtSecretGenerated) return config;
  const kept = await keepFirstSecret(q, 'jwt_secret', config.jwtSecret);
  log.warn(
    { jwtSecretCreatedAt: kept.createdAt, generatedNow: kept.createdNow },
    'JWT_SECRET is unset: signing with the secret generated once and kept in the database (table service_secrets); set JWT_SECRET to manage it yourself',
  );
  return Object.freeze({ ...config, jwtSecret: kept.value });
}
