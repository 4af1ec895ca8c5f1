import { createHmac, timingSafeEqual } from 'node:crypto';

import type { Config } from '../config/config.js';
import { deriveKey } from './secret-box.js';

type LinkConfig = Pick<Config, 'jwtSecret' | 'publicUrl' | 'downloadUrlTtlSeconds'>;

const keys = new Map<string, Buffer>();
function keyFor(config: LinkConfig): Buffer {
  let key = keys.get(config.jwtSecret);
  if (!key) {
    key = deriveKey(config.jwtSecret, 'download-url-v1');
    keys.set(config.jwtSecret, key);
  }
  return key;
}

// The customer is part of what is signed, not of the URL: the route knows the task's owner,
// and a signature made for one customer's task can never open another's.
const mac = (config: LinkConfig, taskId: string, customerId: string, expires: number): Buffer =>
  createHmac('sha256', keyFor(config)).update(`${taskId}.${customerId}.${expires}`).digest();

/**
 * `${PUBLIC_URL}/tasks/{taskId}/result/?expires=<unix s>&signature=<base64url>`: downloads
 * the result without other credentials until it expires (DOWNLOAD_URL_TTL_SECONDS).
 */
export function signDownloadUrl(config: LinkConfig, taskId: string | number, customerId: string, now: number = Date.now()): string {
  const expires = Math.floor(now / 1000) + config.downloadUrlTtlSeconds;
  const signature = mac(config, String(taskId), customerId, expires).toString('base64url');
  return `${config.publicUrl}/tasks/${encodeURIComponent(String(taskId))}/result/?expires=${expires}&signature=${signature}`;
}

/** Expiry time (unix seconds) of a URL made by {@link signDownloadUrl}, for messages that show it. */
export const downloadUrlExpiry = (config: LinkConfig, now: number = Date.now()): number => Math.floor(now / 1000) + config.downloadUrlTtlSeconds;

/**
 * True when `expires` and `signature` (the query parameters of a signed URL) were made by
 * {@link signDownloadUrl} for this task of this customer and have not expired.
 */
export function verifyDownloadSignature(config: LinkConfig, taskId: string | number, customerId: string, expires: unknown, signature: unknown, now: number = Date.now()): boolean {
  if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires) || typeof signature !== 'string') return false;
  const expiresAt = Number(expires);
  if (expiresAt * 1000 <= now) return false;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(config, String(taskId), customerId, expiresAt);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
