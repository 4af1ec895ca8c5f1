import type { EntityManager } from '@mikro-orm/postgresql';
import { jwtVerify, SignJWT } from 'jose';

import type { Config } from '../../config/config.js';
import { AppError, invalidInput, notFound, unauthenticated } from '../../lib/errors.js';
import { isUuid } from '../../lib/ids.js';
import { readRows } from '../../lib/prepared-reads.js';
import type { CallerIdentity, Principal } from '../../lib/principal.js';
import { hashPassword, newToken, sha256Hex, verifyPassword } from '../../lib/secrets.js';
import { canonicalIso, nowIso } from '../../lib/time.js';
import { ApiToken } from './api-token.entity.js';
import { Customer } from './customer.entity.js';
import { User } from './user.entity.js';

const JWT_ISSUER = 'trip-export';
const JWT_AUDIENCE = 'trip-export-api';
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** last_used_at is refreshed at most this often, so reads do not turn into writes. */
const LAST_USED_RESOLUTION_SECONDS = 60;

export interface NewApiToken {
  readonly apiToken: ApiToken;
  /** The secret itself; shown once, never stored. */
  readonly token: string;
}

export class AuthService {
  private readonly key: Uint8Array;

  constructor(private readonly config: Config) {
    this.key = new TextEncoder().encode(config.jwtSecret);
  }

  /** Creates a customer with its first user and API token (the admin CLI's `create-customer`). */
  async createCustomer(em: EntityManager, input: { name: string; email: string; password: string }): Promise<{ customer: Customer; user: User } & NewApiToken> {
    const email = input.email.trim().toLowerCase();
    if (!input.name.trim()) throw invalidInput('name must not be empty');
    if (!EMAIL_RE.test(email)) throw invalidInput(`"${input.email}" is not an e-mail address`);
    if (input.password.length < 6) throw invalidInput('password must be at least 6 characters');
    if (await em.count(User, { email })) {
      throw new AppError('CONFLICT', `a user with e-mail ${email} already exists`);
    }
    const passwordHash = await hashPassword(input.password, this.config.passwordHashCost);
    return em.transactional(async (tx) => {
      const customer = tx.create(Customer, { name: input.name.trim() });
      const user = tx.create(User, { customer, email, passwordHash });
      const created = this.newApiToken(tx, { customerId: customer.id, userId: user.id }, 'initial', null);
      await tx.flush();
      return { customer, user, ...created };
    });
  }

  async login(em: EntityManager, email: string, password: string): Promise<string> {
    const user = await em.findOne(User, { email: email.trim().toLowerCase() });
    // Verify even for unknown users so timing does not reveal which e-mails exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? dummyHash(this.config.passwordHashCost));
    if (!user || !ok) throw unauthenticated('Invalid e-mail or password');
    return new SignJWT({ cid: user.customer.id })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.config.jwtTtlSeconds}s`)
      .sign(this.key);
  }

  /**
   * Resolves an `Authorization` header (`APIToken <t>` or `Bearer <jwt>`) to a principal.
   * Throws UNAUTHENTICATED for anything missing, malformed, expired or revoked.
   */
  async authenticate(em: EntityManager, header: string | undefined): Promise<Principal> {
    if (!header) throw unauthenticated();
    const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
    const kind = scheme.toLowerCase();
    if (kind === 'apitoken' || (kind === 'bearer' && value.startsWith('tex_'))) return this.fromApiToken(em, value);
    if (kind === 'bearer') return this.fromJwt(em, value);
    throw unauthenticated('Unsupported authorization scheme; use "APIToken <token>" or "Bearer <jwt>"');
  }

  /** A JWT stays valid until it expires, but never for a user who no longer exists. */
  private async fromJwt(em: EntityManager, jwt: string): Promise<Principal> {
    let principal: Principal;
    try {
      const { payload } = await jwtVerify(jwt, this.key, {
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        algorithms: ['HS256'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.cid !== 'string' || !isUuid(payload.sub) || !isUuid(payload.cid)) throw new Error('claims');
      principal = { customerId: payload.cid, userId: payload.sub, via: 'jwt' };
    } catch {
      throw unauthenticated('Invalid or expired token');
    }
    const identity = await this.identity(em, principal);
    if (!identity) throw unauthenticated('The user of this token no longer exists');
    return { ...principal, identity };
  }

  /** The caller's e-mail and customer; undefined once the user is gone. */
  async identity(em: EntityManager, principal: Pick<Principal, 'userId' | 'customerId'>): Promise<CallerIdentity | undefined> {
    const [row] = await readRows<IdentityRow>(
      em,
      `select u.email, c.name as customer_name, c.created_at::text as customer_created_at
         from users u join customers c on c.id = u.customer_id
        where u.id = ? and u.customer_id = ?`,
      [principal.userId, principal.customerId],
    );
    return row && identityOf(row);
  }

  /**
   * Every script request passes here, so it is one indexed statement rather than an ORM load:
   * valid (not revoked, not expired) in SQL, the caller's user and customer joined in (what `me`
   * answers), and last use refreshed at most once a minute.
   */
  private async fromApiToken(em: EntityManager, token: string): Promise<Principal> {
    const rows = token
      ? await readRows<{ id: string; customer_id: string; user_id: string; stale: boolean } & IdentityRow>(
          em,
          `select t.id, t.customer_id, t.user_id,
                  (t.last_used_at is null or t.last_used_at < now() - make_interval(secs => ?)) as stale,
                  u.email, c.name as customer_name, c.created_at::text as customer_created_at
             from api_tokens t join users u on u.id = t.user_id join customers c on c.id = t.customer_id
            where t.token_hash = ? and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`,
          [LAST_USED_RESOLUTION_SECONDS, sha256Hex(token)],
        )
      : [];
    const row = rows[0];
    if (!row) throw unauthenticated('Invalid, expired or revoked API token');
    if (row.stale) await em.nativeUpdate(ApiToken, { id: row.id }, { lastUsedAt: nowIso() });
    return { customerId: row.customer_id, userId: row.user_id, via: 'api_token', tokenId: row.id, identity: identityOf(row) };
  }

  async createApiToken(em: EntityManager, principal: Principal, name: string, expiresAt: string | null | undefined): Promise<NewApiToken> {
    if (!name.trim()) throw invalidInput('name must not be empty');
    let expires: string | null = null;
    if (expiresAt) {
      expires = canonicalIso(expiresAt) ?? null;
      if (!expires) throw invalidInput('expires_at must be an ISO-8601 time');
      if (Date.parse(expires) <= Date.now()) throw invalidInput('expires_at must be in the future');
    }
    const created = this.newApiToken(em, principal, name.trim(), expires);
    await em.flush();
    return created;
  }

  listApiTokens(em: EntityManager, principal: Principal): Promise<ApiToken[]> {
    return em.find(ApiToken, { customer: principal.customerId, revokedAt: null }, { orderBy: { createdAt: 'desc', id: 'asc' } });
  }

  async revokeApiToken(em: EntityManager, principal: Principal, id: string): Promise<ApiToken> {
    const row = isUuid(id) ? await em.findOne(ApiToken, { id, customer: principal.customerId, revokedAt: null }) : null;
    if (!row) throw notFound('API token');
    row.revokedAt = nowIso();
    await em.flush();
    return row;
  }

  private newApiToken(em: EntityManager, principal: Pick<Principal, 'customerId' | 'userId'>, name: string, expiresAt: string | null): NewApiToken {
    const token = newToken('tex');
    const apiToken = em.create(ApiToken, {
      customer: principal.customerId,
      user: principal.userId,
      name,
      prefix: token.slice(0, 10),
      tokenHash: sha256Hex(token),
      expiresAt,
    });
    return { apiToken, token };
  }
}

/** Checked for unknown e-mails, at the cost new passwords get, so the answer takes as long. */
const dummyHash = (cost: number): string => `scrypt$${2 ** cost}$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

/** The user and customer columns authentication reads with the credential. */
interface IdentityRow {
  readonly email: string;
  readonly customer_name: string;
  readonly customer_created_at: string;
}

const identityOf = (row: IdentityRow): CallerIdentity => ({ email: row.email, customerName: row.customer_name, customerCreatedAt: row.customer_created_at });
