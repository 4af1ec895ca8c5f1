/** Writes schema/schema.graphql from the code; CI fails when the committed file differs. */
import { writeFile } from 'node:fs/promises';

import { lexicographicSortSchema, printSchema } from 'graphql';

import { PROJECT_ROOT } from '../db/mikro-orm.config.js';
import { buildAppSchema } from '../schema.js';

const schema = await buildAppSchema();
const target = `${PROJECT_ROOT}schema/schema.graphql`;
await writeFile(target, `${printSchema(lexicographicSortSchema(schema))}\n`);
console.log(`written ${target}`);
