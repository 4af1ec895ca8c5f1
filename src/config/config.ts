/**
 * The one place that reads `process.env`. Every setting is parsed and checked here;
 * a bad value stops start-up with a single message that names every bad variable.
 */
import { randomBytes } from 'node:crypto';

import ipaddr from 'ipaddr.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** PostgreSQL connection string; `undefined` means "start an embedded PostgreSQL". */
  readonly databaseUrl: string | undefined;
  readonly port: number;
  readonly host: string;
  readonly mongodbUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly exportDir: string;
  /**
   * HS256 key of logins and root of the derived keys (download links, sealed webhook secrets).
   * Without JWT_SECRET a random candidate; buildApp swaps in the one kept in the database.
   */
  readonly jwtSecret: string;
  /** JWT_SECRET was unset: the secret is generated once and kept in the database for every instance. */
  readonly jwtSecretGenerated: boolean;
  readonly jwtTtlSeconds: number;
  /** log2 of scrypt's N for passwords hashed from now on; stored hashes keep their own. */
  readonly passwordHashCost: number;
  readonly publicUrl: string;
  /** Floor under a device's reopen limit before a finished trip is exported. */
  readonly exportMinDelaySeconds: number;
  readonly exportGzipLevel: number;
  readonly exportMaxAttempts: number;
  /** Base of the retry backoff: attempt n waits base * 2^(n-1) seconds. */
  readonly exportRetryBaseSeconds: number;
  /** A running export holds its task this long and renews it while it works; a dead worker's task is taken over after it. */
  readonly exportLeaseSeconds: number;
  /** How often a worker looks for due exports whose scheduled job was lost. */
  readonly exportSweepSeconds: number;
  /** Exports run at the same time per worker process. */
  readonly exportConcurrency: number;
  /** Caps the uncompressed bytes an export reads per second (spares the disk; tests slow exports down with it). */
  readonly exportMaxBytesPerSecond: number | undefined;
  readonly webhookAllowPrivateNetworks: boolean;
  /** Delays between webhook/e-mail attempts, in seconds. */
  readonly deliveryRetrySeconds: readonly number[];
  readonly downloadUrlTtlSeconds: number;
  /** Hour (UTC, 0-23) at which uncleared results are announced again. */
  readonly reannounceHourUtc: number;
  readonly retentionDays: number | undefined;
  /** Whether this instance's workers run the `records.compact` job (compressed record segments). */
  readonly compactEnabled: boolean;
  /** How often the compactor runs. */
  readonly compactEverySeconds: number;
  /**
   * Records younger than this stay rows. Longer than uploads usually arrive late (a segment hit
   * by late rows must be rebuilt) and than trip detection looks back at ingest.
   */
  readonly compactAfterSeconds: number;
  /** Bounds one compactor run, so it ends well within its job lock; the next run goes on. */
  readonly compactMaxRecordsPerRun: number;
  readonly compactMaxDevicesPerRun: number;
  /** Days an announcement stays replayable by cursor; the daily retention deletes older ones. */
  readonly announcementReplayDays: number;
  readonly logLevel: LogLevel;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly uploadMaxBytes: number;
  readonly uploadMaxRecords: number;
  /** Bytes of one record's JSON in an upload. */
  readonly uploadMaxRecordBytes: number;
  /** Objects and arrays nested in one uploaded record. */
  readonly uploadMaxDepth: number;
  /** Record times older than this (or the retention) or further ahead than the next get no partition and cut no trip. */
  readonly recordMaxAgeDays: number;
  readonly recordMaxAheadSeconds: number;
  readonly graphqlMaxDepth: number;
  readonly graphqlMaxCost: number;
  /** Aliased fields per operation: each alias runs its field again. */
  readonly graphqlMaxAliases: number;
  readonly graphqlMaxDirectives: number;
  /** Lexical tokens per document, counted while parsing so a huge query is refused early. */
  readonly graphqlMaxTokens: number;
  readonly graphqlBodyLimitBytes: number;
  /** Poll interval of the job runner and the announcement dispatcher, in milliseconds. */
  readonly jobPollMs: number;
  /** Whole-exchange deadline of one webhook request. */
  readonly webhookTimeoutMs: number;
  /** Webhook and e-mail sends one instance runs at the same time. */
  readonly deliveryConcurrency: number;
  readonly graphqlWsMaxSubscriptions: number;
  /** How often an open WebSocket's credentials are checked again (revoked, expired). */
  readonly graphqlWsRecheckSeconds: number;
  readonly graphqlIntrospection: boolean;
  /** Proxies whose X-Forwarded-For names the client (true: any); per-address limits count that client. */
  readonly trustProxy: boolean | readonly string[];
  /** Login attempts (failed or not) per e-mail and per client address within `authLimitWindowSeconds`. */
  readonly loginLimitPerAccount: number;
  readonly loginLimitPerAddress: number;
  /** Refused credentials (401) per client address within `authLimitWindowSeconds`. */
  readonly authFailureLimitPerAddress: number;
  readonly authLimitWindowSeconds: number;
  /** Requests per minute with one credential (API token, JWT, device token). */
  readonly tokenLimitPerMinute: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** The development constant earlier versions fell back to; it is public, so it is refused. */
const PUBLISHED_JWT_SECRET = 'dev-only-secret-change-me-please-0123456789';

/** `TRUST_PROXY`: true, false, or the proxies' addresses and CIDR ranges, comma-separated. */
function trustProxy(raw: string | undefined, problems: string[]): boolean | readonly string[] {
  const value = raw?.toLowerCase();
  if (value === undefined || ['0', 'false', 'no', 'off'].includes(value)) return false;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.filter((entry) => !ipaddr.isValid(entry) && !ipaddr.isValidCIDR(entry));
  if (bad.length) problems.push(`TRUST_PROXY must be true, false or addresses/CIDR ranges (bad: ${bad.join(', ')})`);
  return Object.freeze(entries);
}

/** Parses `env` into a frozen {@link Config}; throws {@link ConfigError} listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const url = (name: string, protocols: readonly string[]): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
      }
    } catch {
      problems.push(`${name} is not a valid URL`);
    }
    return raw;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const port = int('PORT', 4000, 0, 65535);
  const host = read('HOST') ?? '127.0.0.1';
  const givenJwtSecret = read('JWT_SECRET');
  if (givenJwtSecret !== undefined && Buffer.byteLength(givenJwtSecret) < 32) problems.push('JWT_SECRET must be at least 32 bytes');
  if (givenJwtSecret === PUBLISHED_JWT_SECRET) problems.push('JWT_SECRET is the development value published with earlier versions; choose your own');

  const logLevel = (read('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  let deliveryRetrySeconds: number[] = [5, 300, 1800, 7200, 18000, 36000, 36000];
  const retryRaw = read('DELIVERY_RETRY_SECONDS');
  if (retryRaw !== undefined) {
    const parts = retryRaw.split(',').map((p) => Number(p.trim()));
    if (parts.some((p) => !Number.isFinite(p) || p < 0)) {
      problems.push('DELIVERY_RETRY_SECONDS must be a comma-separated list of non-negative numbers');
    } else deliveryRetrySeconds = parts;
  }

  const retentionRaw = read('RETENTION_DAYS');
  const retentionDays = retentionRaw === undefined ? undefined : int('RETENTION_DAYS', 0, 1, 36500);

  const publicUrl = url('PUBLIC_URL', ['http:', 'https:']) ?? `http://${host}:${port}`;

  const config: Config = {
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    port,
    host,
    mongodbUrl: url('MONGODB_URL', ['mongodb:', 'mongodb+srv:']),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    smtpUrl: url('SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: read('MAIL_FROM') ?? 'trip-export <no-reply@trip-export.local>',
    exportDir: read('EXPORT_DIR') ?? '.data/exports',
    jwtSecret: givenJwtSecret ?? randomBytes(32).toString('base64url'),
    jwtSecretGenerated: givenJwtSecret === undefined,
    jwtTtlSeconds: int('JWT_TTL_SECONDS', 3600, 60, 86400),
    passwordHashCost: int('PASSWORD_HASH_COST', 14, 10, 20),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    exportMinDelaySeconds: int('EXPORT_MIN_DELAY_SECONDS', 600, 0, 86400),
    exportGzipLevel: int('EXPORT_GZIP_LEVEL', 6, 1, 9),
    exportMaxAttempts: int('EXPORT_MAX_ATTEMPTS', 4, 1, 20),
    exportRetryBaseSeconds: int('EXPORT_RETRY_BASE_SECONDS', 30, 0, 86400),
    exportLeaseSeconds: int('EXPORT_LEASE_SECONDS', 120, 2, 3600),
    exportSweepSeconds: int('EXPORT_SWEEP_SECONDS', 60, 1, 3600),
    exportConcurrency: int('EXPORT_CONCURRENCY', 2, 1, 64),
    exportMaxBytesPerSecond: read('EXPORT_MAX_BYTES_PER_SECOND') === undefined ? undefined : int('EXPORT_MAX_BYTES_PER_SECOND', 0, 1024, 2 ** 40),
    webhookAllowPrivateNetworks: bool('WEBHOOK_ALLOW_PRIVATE_NETWORKS', false),
    deliveryRetrySeconds,
    downloadUrlTtlSeconds: int('DOWNLOAD_URL_TTL_SECONDS', 86400, 60, 30 * 86400),
    reannounceHourUtc: int('REANNOUNCE_HOUR_UTC', 3, 0, 23),
    retentionDays,
    compactEnabled: bool('COMPACT_ENABLED', true),
    compactEverySeconds: int('COMPACT_EVERY_SECONDS', 60, 1, 86400),
    compactAfterSeconds: int('COMPACT_AFTER_SECONDS', 3600, 0, 365 * 86400),
    compactMaxRecordsPerRun: int('COMPACT_MAX_RECORDS_PER_RUN', 2_000_000, 1000, 1_000_000_000),
    compactMaxDevicesPerRun: int('COMPACT_MAX_DEVICES_PER_RUN', 1000, 1, 1_000_000),
    announcementReplayDays: int('ANNOUNCEMENT_REPLAY_DAYS', 7, 1, 3650),
    logLevel,
    dataDir: read('DATA_DIR') ?? '.data',
    embeddedPgPort: int('EMBEDDED_PG_PORT', 54329, 1024, 65535),
    uploadMaxBytes: int('UPLOAD_MAX_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    uploadMaxRecords: int('UPLOAD_MAX_RECORDS', 10000, 1, 1_000_000),
    uploadMaxRecordBytes: int('UPLOAD_MAX_RECORD_BYTES', 1024 * 1024, 256, 1024 * 1024 * 1024),
    uploadMaxDepth: int('UPLOAD_MAX_DEPTH', 32, 2, 1000),
    recordMaxAgeDays: int('RECORD_MAX_AGE_DAYS', 3650, 1, 36500),
    recordMaxAheadSeconds: int('RECORD_MAX_AHEAD_SECONDS', 86400, 0, 366 * 86400),
    graphqlMaxDepth: int('GRAPHQL_MAX_DEPTH', 10, 2, 100),
    graphqlMaxCost: int('GRAPHQL_MAX_COST', 5000, 10, 1_000_000),
    graphqlMaxAliases: int('GRAPHQL_MAX_ALIASES', 30, 0, 10_000),
    graphqlMaxDirectives: int('GRAPHQL_MAX_DIRECTIVES', 50, 0, 10_000),
    graphqlMaxTokens: int('GRAPHQL_MAX_TOKENS', 5000, 100, 1_000_000),
    graphqlBodyLimitBytes: int('GRAPHQL_BODY_LIMIT_BYTES', 100 * 1024, 1024, 10 * 1024 * 1024),
    jobPollMs: int('JOB_POLL_MS', 1000, 50, 60000),
    webhookTimeoutMs: int('WEBHOOK_TIMEOUT_MS', 15000, 100, 120000),
    deliveryConcurrency: int('DELIVERY_CONCURRENCY', 4, 1, 64),
    graphqlWsMaxSubscriptions: int('GRAPHQL_WS_MAX_SUBSCRIPTIONS', 20, 1, 1000),
    graphqlWsRecheckSeconds: int('GRAPHQL_WS_RECHECK_SECONDS', 60, 1, 3600),
    graphqlIntrospection: bool('GRAPHQL_INTROSPECTION', true),
    trustProxy: trustProxy(read('TRUST_PROXY'), problems),
    loginLimitPerAccount: int('LOGIN_LIMIT_PER_ACCOUNT', 10, 1, 1_000_000),
    loginLimitPerAddress: int('LOGIN_LIMIT_PER_ADDRESS', 30, 1, 1_000_000),
    authFailureLimitPerAddress: int('AUTH_FAILURE_LIMIT_PER_ADDRESS', 1000, 1, 1_000_000),
    authLimitWindowSeconds: int('AUTH_LIMIT_WINDOW_SECONDS', 900, 1, 86400),
    tokenLimitPerMinute: int('TOKEN_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...config, deliveryRetrySeconds: Object.freeze([...config.deliveryRetrySeconds]) });
}
