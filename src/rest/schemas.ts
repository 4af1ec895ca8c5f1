/**
 * JSON Schemas of the REST routes. Fastify validates requests with them and the OpenAPI
 * document at /openapi.json is generated from them, so the two cannot drift apart.
 * Response objects allow extra properties: the legacy shapes may grow, never shrink.
 */
export const errorSchema = {
  type: 'object',
  description: 'Every error answer: a human-readable reason, sometimes with details.',
  properties: { detail: { type: 'string' } },
  required: ['detail'],
  additionalProperties: true,
} as const;

export const nullableString = { type: ['string', 'null'] } as const;
export const isoTime = { type: 'string', description: 'ISO-8601 UTC with microseconds' } as const;

const tripSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string', format: 'uuid' },
    start_time_utc: isoTime,
    end_time_utc: { ...nullableString, description: 'null while the trip is in progress' },
    start_position_lat: nullableString,
    start_position_lng: nullableString,
    end_position_lat: nullableString,
    end_position_lng: nullableString,
    distance_km: { type: 'number' },
    duration: { type: 'string', description: 'HH:MM:SS' },
    state: { type: 'string', enum: ['in_progress', 'completed'] },
    device: { type: 'string', format: 'uuid' },
    vehicle: { type: 'integer' },
    unit_id: { type: 'string', format: 'uuid' },
  },
  required: ['id', 'start_time_utc', 'end_time_utc', 'state', 'device', 'vehicle', 'unit_id', 'duration', 'distance_km'],
} as const;

export const tripPageSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    count: { type: 'integer' },
    next: nullableString,
    previous: nullableString,
    results: { type: 'array', items: tripSchema },
  },
  required: ['count', 'next', 'previous', 'results'],
} as const;

export const apiTokenSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    prefix: { type: 'string', description: 'The first characters of the token' },
    created_at: isoTime,
    expires_at: nullableString,
    last_used_at: nullableString,
  },
  required: ['id', 'name', 'prefix', 'created_at', 'expires_at', 'last_used_at'],
} as const;

export const uploadResultSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    stored: { type: 'integer' },
    duplicate: { type: 'boolean', description: 'The same batch was stored before; nothing was written' },
    trips: {
      type: 'object',
      properties: { started: { type: 'integer' }, ended: { type: 'integer' }, reopened: { type: 'integer' } },
      required: ['started', 'ended', 'reopened'],
    },
  },
  required: ['stored', 'duplicate', 'trips'],
} as const;

/** Errors every authenticated route can answer. */
export const authErrors = { 401: errorSchema, 404: errorSchema } as const;

export const bearerSecurity: Record<string, string[]>[] = [{ apiToken: [] }, { bearer: [] }];
