/** Every `Type.field` (and `Type.field(arg)`) of the schema the dashboard was built against. */
declare const __SCHEMA_FIELDS__: readonly string[];
