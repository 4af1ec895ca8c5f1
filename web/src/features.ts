/**
 * Fields of the API this dashboard was built against (see vite.config.ts). Screens ask before
 * using a field a newer API adds, so one dashboard source builds against either schema.
 */
const fields = new Set(__SCHEMA_FIELDS__);

export const schemaHas = (name: string): boolean => fields.has(name);
