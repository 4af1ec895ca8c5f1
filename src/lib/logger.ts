import pino, { type Logger } from 'pino';

import type { Config } from '../config/config.js';

/**
 * Paths that can carry credentials. Tokens are never logged; neither are passwords, webhook
 * secrets or the signature of a download link.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'token',
  'secret',
  '*.password',
  '*.token',
  '*.secret',
  '*.uploadToken',
];

/** Query parameters whose values are credentials (signed download links). */
const SECRET_QUERY = /([?&](?:signature|token|sig)=)[^&]*/gi;

const redactUrl = (url: string): string => url.replace(SECRET_QUERY, '$1[Redacted]');

/** Structured JSON logs; readable lines when a person watches a terminal. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination: 'auto' | 'json' = 'auto'): Logger {
  const pretty = destination === 'auto' && process.stdout.isTTY === true;
  return pino({
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[Redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url ?? ''), id: req.id, ip: req.ip }),
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
