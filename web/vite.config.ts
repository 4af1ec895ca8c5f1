/**
 * The dashboard's build: web/ -> dist/web, served by the API at GET /.
 *
 * The dashboard ships with the service, so it is built against this very schema: the names of
 * every `Type.field` in schema/schema.graphql become `__SCHEMA_FIELDS__`, and screens that need
 * a field a newer API adds (`schemaHas('Task.downloadUrl')`) switch it on when it is there.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildSchema, isInputObjectType, isInterfaceType, isObjectType } from 'graphql';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

function schemaFields(): string[] {
  const schema = buildSchema(readFileSync(path.join(here, '../schema/schema.graphql'), 'utf8'));
  const names: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isInputObjectType(type)) names.push(...Object.keys(type.getFields()).map((field) => `${type.name}.${field}`));
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const [field, def] of Object.entries(type.getFields())) {
        names.push(`${type.name}.${field}`, ...def.args.map((arg) => `${type.name}.${field}(${arg.name})`));
      }
    }
  }
  return names.sort();
}

export default defineConfig({
  root: here,
  base: '/',
  define: { __SCHEMA_FIELDS__: JSON.stringify(schemaFields()) },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.join(here, '../dist/web'),
    emptyOutDir: true,
    // The CSP allows scripts from self only: no inline module-preload helper.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
  },
});
