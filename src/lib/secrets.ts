import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

/** A random token with a recognisable prefix: `tex_…` for API tokens, `dev_…` for device upload tokens. */
export const newToken = (prefix: string): string => `${prefix}_${randomBytes(24).toString('base64url')}`;

/** Tokens are stored only as this hash. */
export const sha256Hex = (value: string | Buffer): string => createHash('sha256').update(value).digest('hex');

const SCRYPT = { r: 8, p: 1, keylen: 32 };

/** `cost` is log2 of scrypt's N (14: 16 MiB and ~50 ms a hash); the stored hash names its own parameters. */
export async function hashPassword(password: string, cost = 14): Promise<string> {
  const salt = randomBytes(16);
  const N = 2 ** cost;
  const hash = await scrypt(password, salt, SCRYPT.keylen, { N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(actual, expected);
}
