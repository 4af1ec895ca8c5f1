import type { FastifyInstance, FastifyRequest } from 'fastify';

import { invalidInput } from '../lib/errors.js';
import type { AuthService } from '../modules/accounts/auth.service.js';
import { type Trigger, TriggerType } from '../modules/triggers/trigger.entity.js';
import type { TriggerService } from '../modules/triggers/trigger.service.js';
import type { TriggerDraft } from '../modules/triggers/trigger-rules.js';
import { requireUser } from './http.js';
import { authErrors, bearerSecurity, errorSchema } from './schemas.js';
import { createdTriggerSchema, triggerCreateSchema, triggerIdParams, triggerSchema, triggerUpdateSchema } from './trigger.schemas.js';

/** A trigger in the legacy API's snake_case shape. */
export const triggerJson = (t: Trigger) => ({
  id: t.id,
  created_at: t.createdAt,
  description: t.description,
  enabled: t.enabled,
  type: t.type,
  signal: t.signal ?? null,
  event_tag: t.eventTag ?? null,
  device: t.device?.id ?? null,
  min_interval_seconds: t.minIntervalSeconds,
  last_triggered: t.lastTriggeredAt ?? null,
  last_error: t.lastError ?? null,
  last_error_at: t.lastErrorAt ?? null,
  previous_secret_expires_at: t.previousSecretExpiresAt ?? null,
  actions: {
    email: t.emailRecipients.length ? { recipients: t.emailRecipients } : null,
    webhook: t.webhookUrl ? { url: t.webhookUrl, headers: t.webhookHeaderMasks, body_template: t.webhookBodyTemplate ?? null } : null,
  },
});

type Body = Record<string, unknown>;

const isObject = (value: unknown): value is Body => typeof value === 'object' && value !== null && !Array.isArray(value);

function optional<T>(body: Body, key: string, check: (v: unknown) => v is T, what: string): T | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!check(value)) throw invalidInput(`${key} must be ${what}`);
  return value;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isNumber = (v: unknown): v is number => typeof v === 'number';
const isStringMap = (v: unknown): v is Record<string, string> => isObject(v) && Object.values(v).every(isString);

function parseType(value: unknown): TriggerType | undefined {
  if (value === undefined) return undefined;
  const wanted: string = typeof value === 'string' ? value.toLowerCase() : '';
  const type = Object.values(TriggerType).find((t: string) => t === wanted);
  if (!type) throw invalidInput('type must be "signal" or "event"');
  return type;
}

function parseActions(value: unknown): Pick<TriggerDraft, 'email' | 'webhook'> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalidInput('actions must be an object with "email" and/or "webhook"');
  const draft: { email?: TriggerDraft['email']; webhook?: TriggerDraft['webhook'] } = {};
  if (value.email !== undefined) {
    if (value.email !== null && !(isObject(value.email) && Array.isArray(value.email.recipients) && value.email.recipients.every(isString))) {
      throw invalidInput('actions.email must be {"recipients": ["..."]} or null');
    }
    draft.email = value.email && { recipients: value.email.recipients as string[] };
  }
  if (value.webhook !== undefined) {
    if (value.webhook === null) draft.webhook = null;
    else {
      if (!isObject(value.webhook)) throw invalidInput('actions.webhook must be an object or null');
      draft.webhook = {
        url: optional(value.webhook, 'url', isString, 'a URL') ?? '',
        headers: optional(value.webhook, 'headers', isStringMap, 'an object of header names to string values'),
        bodyTemplate: optional(value.webhook, 'body_template', isStringOrNull, 'a string or null'),
      };
    }
  }
  return draft;
}

/** Maps a JSON body to a draft; shape errors answer 400, rules are the service's. */
function draftOf(request: FastifyRequest): TriggerDraft {
  const body = request.body;
  if (!isObject(body)) throw invalidInput('the body must be a JSON object');
  return {
    description: optional(body, 'description', isString, 'a string'),
    enabled: optional(body, 'enabled', isBoolean, 'true or false'),
    type: parseType(body.type),
    signal: optional(body, 'signal', isStringOrNull, 'a string or null'),
    eventTag: optional(body, 'event_tag', isStringOrNull, 'a string or null'),
    deviceId: optional(body, 'device', isStringOrNull, 'a device id or null'),
    minIntervalSeconds: optional(body, 'min_interval_seconds', isNumber, 'a number of seconds'),
    ...parseActions(body.actions),
  };
}

/**
 * Fastify would check bodies with its own Ajv, which coerces ("true" becomes true, 5 becomes
 * "5") and answers in its own words; legacy clients rely on `draftOf`'s checks and messages,
 * so the body schemas only document. Route params are plain strings either way.
 */
const documentOnly = { validatorCompiler: () => () => true };

const tags = ['automation'];

/** `/automation/triggers/`: list, create (the signing secret is in this answer only), get, update, delete. */
export function triggerRoutes(auth: AuthService, triggers: TriggerService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get(
      '/automation/triggers/',
      { schema: { tags, summary: 'Triggers of the customer, oldest first', security: bearerSecurity, response: { 200: { type: 'array', items: triggerSchema }, ...authErrors } } },
      async (request) => {
        const principal = await requireUser(auth, request);
        return (await triggers.list(request.em, principal)).map(triggerJson);
      },
    );

    app.post(
      '/automation/triggers/',
      {
        ...documentOnly,
        schema: {
          tags,
          summary: 'Create a trigger; the webhook signing secret is in this answer only',
          security: bearerSecurity,
          body: triggerCreateSchema,
          response: { 201: createdTriggerSchema, 400: errorSchema, ...authErrors },
        },
      },
      async (request, reply) => {
        const principal = await requireUser(auth, request);
        const { trigger, webhookSecret } = await triggers.create(request.em, principal, draftOf(request));
        return reply.status(201).send({ ...triggerJson(trigger), webhook_secret: webhookSecret });
      },
    );

    app.get<{ Params: { id: string } }>(
      '/automation/triggers/:id/',
      { schema: { tags, summary: 'One trigger', security: bearerSecurity, params: triggerIdParams, response: { 200: triggerSchema, ...authErrors } } },
      async (request) => {
        const principal = await requireUser(auth, request);
        return triggerJson(await triggers.get(request.em, principal, request.params.id));
      },
    );

    // PUT and PATCH both change only the fields sent: legacy scripts use either.
    app.route<{ Params: { id: string } }>({
      method: ['PATCH', 'PUT'],
      url: '/automation/triggers/:id/',
      ...documentOnly,
      schema: {
        tags,
        summary: 'Change the fields sent (PUT and PATCH alike); the others keep their value',
        security: bearerSecurity,
        params: triggerIdParams,
        body: triggerUpdateSchema,
        response: { 200: triggerSchema, 400: errorSchema, ...authErrors },
      },
      handler: async (request) => {
        const principal = await requireUser(auth, request);
        return triggerJson(await triggers.update(request.em, principal, request.params.id, draftOf(request)));
      },
    });

    app.delete<{ Params: { id: string } }>(
      '/automation/triggers/:id/',
      { schema: { tags, summary: 'Delete a trigger', security: bearerSecurity, params: triggerIdParams, response: { 204: { type: 'null' }, ...authErrors } } },
      async (request, reply) => {
        const principal = await requireUser(auth, request);
        await triggers.delete(request.em, principal, request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
