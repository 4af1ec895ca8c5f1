const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids arrive from URLs and GraphQL as free text; anything not a uuid cannot exist. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value);
