import { createHash } from 'node:crypto';

import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';

import type { Config } from '../config/config.js';
import { RateLimitedError } from './errors.js';

type ThrottleConfig = Pick<Config, 'redisUrl' | 'loginLimitPerAccount' | 'loginLimitPerAddress' | 'authFailureLimitPerAddress' | 'authLimitWindowSeconds' | 'tokenLimitPerMinute'>;

/** Throttles password guessing and credential abuse; see {@link registerAuthThrottle}. */
export interface AuthThrottle {
  /** Counts a login attempt for `email` and the caller's address; throws RATE_LIMITED once either is used up. */
  loginAttempt(request: FastifyRequest, email: string): Promise<void>;
  /** Counts a credential the service refused against the caller's address. */
  credentialRefused(request: FastifyRequest): Promise<void>;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

const digest = (value: string): string => createHash('sha256').update(value).digest('base64url');
/** IPv6 callers are counted by /64, what one subscriber usually holds. */
const addressOf = (request: FastifyRequest): string => normalizeIP(request.ip, 64);

/** Counts one more against `limiter` (or only looks, with `increment: false`); throws when it is used up. */
async function enforce(limiter: Limiter, request: FastifyRequest, message: string, increment = true): Promise<void> {
  const state = await limiter(request, { increment });
  if (state.isAllowed) return;
  if (increment ? state.isExceeded : state.remaining <= 0) throw new RateLimitedError(message, Math.max(1, state.ttlInSeconds));
}

/**
 * Limits counted in Redis when REDIS_URL is set (shared by every instance), else in this
 * process's memory (each instance counts alone). `namespace` keeps deployments that share a
 * Redis apart. Where Redis cannot be reached the limits are skipped rather than locking
 * everybody out.
 *
 * - every request with a credential counts against that credential (TOKEN_LIMIT_PER_MINUTE);
 * - refused credentials count against the caller's address; once used up, requests with a
 *   credential from there wait (AUTH_FAILURE_LIMIT_PER_ADDRESS);
 * - login attempts count against the e-mail and the address (LOGIN_LIMIT_PER_*).
 *
 * "Address" is the TCP peer unless TRUST_PROXY names the proxy in front: behind a proxy
 * without it, every caller shares the proxy's address and its limits.
 */
export async function registerAuthThrottle(app: FastifyInstance, config: ThrottleConfig, namespace: string): Promise<AuthThrottle> {
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 1000 }) : undefined;
  if (redis) {
    redis.on('error', (err) => app.log.debug({ err }, 'rate-limit store: Redis unreachable; limits skipped meanwhile'));
    app.addHook('onClose', async () => void redis.disconnect());
  }
  await app.register(rateLimit, { global: false, redis, nameSpace: `${namespace}:rate-limit:`, skipOnError: true, cache: 10_000 });

  const window = config.authLimitWindowSeconds * 1000;
  const perCredential = app.createRateLimit({
    keyGenerator: (request) => `credential:${digest(request.headers.authorization ?? '')}`,
    max: config.tokenLimitPerMinute,
    timeWindow: 60_000,
  });
  const failuresPerAddress = app.createRateLimit({ keyGenerator: (request) => `refused:${addressOf(request)}`, max: config.authFailureLimitPerAddress, timeWindow: window });
  const loginsPerAddress = app.createRateLimit({ keyGenerator: (request) => `login-address:${addressOf(request)}`, max: config.loginLimitPerAddress, timeWindow: window });
  const loginEmail = new WeakMap<FastifyRequest, string>();
  const loginsPerAccount = app.createRateLimit({
    keyGenerator: (request) => `login-account:${digest(loginEmail.get(request) ?? '')}`,
    max: config.loginLimitPerAccount,
    timeWindow: window,
  });

  app.addHook('onRequest', async (request) => {
    if (!request.headers.authorization) return;
    await enforce(failuresPerAddress, request, 'Too many refused credentials from your address', false);
    await enforce(perCredential, request, `More than ${config.tokenLimitPerMinute} requests a minute with this credential`);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 401 && request.headers.authorization) await failuresPerAddress(request);
  });

  return {
    // Counted before the password is checked, so parallel guesses cannot all pass one check.
    async loginAttempt(request, email) {
      await enforce(loginsPerAddress, request, 'Too many login attempts from your address');
      loginEmail.set(request, email.trim().toLowerCase());
      await enforce(loginsPerAccount, request, 'Too many login attempts for this account');
    },
    async credentialRefused(request) {
      await failuresPerAddress(request);
    },
  };
}
