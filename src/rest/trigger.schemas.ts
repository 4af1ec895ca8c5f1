/**
 * JSON Schemas of `/automation/triggers/` in the legacy snake_case shape (see `triggerJson`).
 * The request bodies are documentation: the route's own checks word the 400 answers.
 */
import { isoTime, nullableString } from './schemas.js';

const headerMap = {
  type: 'object',
  description: 'Extra request headers: names to string values. Answers show the values masked (****wxyz); a header sent back as shown keeps its value',
  additionalProperties: { type: 'string' },
} as const;

const triggerType = { type: 'string', enum: ['signal', 'event'] } as const;

export const triggerSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string', format: 'uuid' },
    created_at: isoTime,
    description: { type: 'string' },
    enabled: { type: 'boolean' },
    type: triggerType,
    signal: { ...nullableString, description: 'The signal a signal trigger listens to (trip_export_finished)' },
    event_tag: { ...nullableString, description: 'Event tag pattern of an event trigger; * matches any run of characters' },
    device: { ...nullableString, description: 'Only this device fires the trigger; null: every device of the customer' },
    min_interval_seconds: { type: 'integer', description: 'Firings closer together than this are skipped' },
    last_triggered: nullableString,
    last_error: { ...nullableString, description: 'Why the last delivery attempt failed' },
    last_error_at: nullableString,
    previous_secret_expires_at: { ...nullableString, description: 'Until then the previous signing secret signs too' },
    actions: {
      type: 'object',
      additionalProperties: true,
      properties: {
        email: {
          type: ['object', 'null'],
          additionalProperties: true,
          properties: { recipients: { type: 'array', items: { type: 'string' } } },
          required: ['recipients'],
        },
        webhook: {
          type: ['object', 'null'],
          additionalProperties: true,
          properties: { url: { type: 'string' }, headers: headerMap, body_template: nullableString },
          required: ['url', 'headers', 'body_template'],
        },
      },
      required: ['email', 'webhook'],
    },
  },
  required: [
    'id',
    'created_at',
    'description',
    'enabled',
    'type',
    'signal',
    'event_tag',
    'device',
    'min_interval_seconds',
    'last_triggered',
    'last_error',
    'last_error_at',
    'previous_secret_expires_at',
    'actions',
  ],
} as const;

/** The create answer: the only place the signing secret is ever shown. */
export const createdTriggerSchema = {
  ...triggerSchema,
  properties: { ...triggerSchema.properties, webhook_secret: { type: 'string', description: 'whsec_… signing secret; shown in this answer only' } },
  required: [...triggerSchema.required, 'webhook_secret'],
} as const;

/**
 * What create and update read. Absent fields keep their value (update) or default (create),
 * `null` clears an optional one; other fields, like those of a GET answer sent back, are ignored.
 */
export const triggerUpdateSchema = {
  type: 'object',
  properties: {
    description: { type: 'string', maxLength: 500 },
    enabled: { type: 'boolean' },
    type: { ...triggerType, description: 'Required on create; case-insensitive' },
    signal: { ...nullableString, description: 'Required for a signal trigger: trip_export_finished' },
    event_tag: { ...nullableString, description: 'Required for an event trigger: letters, digits, _ . - / and * wildcards' },
    device: { ...nullableString, description: 'A device id of the customer, or null for every device' },
    min_interval_seconds: { type: 'integer', minimum: 0, maximum: 30 * 86400 },
    actions: {
      type: 'object',
      description: 'Only the actions sent change; null removes one',
      properties: {
        email: {
          type: ['object', 'null'],
          properties: { recipients: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 20 } },
          required: ['recipients'],
        },
        webhook: {
          type: ['object', 'null'],
          description: 'Replaces the whole webhook action; headers and body_template left out are cleared',
          properties: {
            url: { type: 'string', description: 'http or https, no credentials, a public address' },
            headers: { ...headerMap, maxProperties: 20 },
            body_template: { ...nullableString, description: 'JSON with {{placeholders}}; null: the standard body' },
          },
          required: ['url'],
        },
      },
    },
  },
} as const;

export const triggerCreateSchema = { ...triggerUpdateSchema, required: ['type'] } as const;

export const triggerIdParams = {
  type: 'object',
  properties: { id: { type: 'string', description: 'Trigger id (uuid)' } },
  required: ['id'],
} as const;
