import type { FastifyInstance, FastifyRequest } from 'fastify';

import { invalidInput } from '../lib/errors.js';
import type { AuthService } from '../modules/accounts/auth.service.js';
import { tripJson } from '../modules/trips/trip.serializer.js';
import type { TripService } from '../modules/trips/trip.service.js';
import { requireUser } from './http.js';
import { authErrors, bearerSecurity, errorSchema, tripPageSchema } from './schemas.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

function intParam(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw invalidInput(`${name} must be an integer between 0 and ${max}`);
  return n;
}

/** Absolute link to another page of the same list, keeping the other query parameters. */
function pageLink(request: FastifyRequest, publicUrl: string, limit: number, offset: number): string {
  const url = new URL(request.url, publicUrl);
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('offset', String(offset));
  return `${publicUrl}${url.pathname}${url.search}`;
}

/** `GET /logbook/trips/?device=ID`: newest first, `{count, next, previous, results}`. */
export function tripRoutes(auth: AuthService, trips: TripService, publicUrl: string) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: { device?: string; limit?: string; offset?: string; from?: string; to?: string } }>(
      '/logbook/trips/',
      {
        schema: {
          tags: ['logbook'],
          summary: 'Trips of a device, or of the whole customer, newest first',
          security: bearerSecurity,
          querystring: {
            type: 'object',
            properties: {
              device: { type: 'string', description: 'Device id; omit for every device of the customer' },
              limit: { type: 'string', description: `Page size (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT})` },
              offset: { type: 'string' },
              from: { type: 'string', description: 'Only trips still going at or after this ISO time' },
              to: { type: 'string', description: 'Only trips started at or before this ISO time' },
            },
          },
          response: { 200: tripPageSchema, 400: errorSchema, ...authErrors },
        },
      },
      async (request) => {
        const principal = await requireUser(auth, request);
        const { device, from, to } = request.query;
        const limit = Math.max(1, intParam(request.query.limit, 'limit', DEFAULT_LIMIT, MAX_LIMIT));
        const offset = intParam(request.query.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
        const { count, rows } = await trips.page(request.em, principal, { deviceId: device || undefined, from, to }, limit, offset);
        const base = publicUrl;
        return {
          count,
          next: offset + limit < count ? pageLink(request, base, limit, offset + limit) : null,
          previous: offset > 0 ? pageLink(request, base, limit, Math.max(0, offset - limit)) : null,
          results: rows.map(tripJson),
        };
      },
    );
  };
}
