import { readFileSync } from 'node:fs';

import { parse, print, separateOperations } from 'graphql';

import { PROJECT_ROOT } from '../../src/db/mikro-orm.config.js';

/**
 * One operation of the dashboard's own documents (`web/operations`), as the dashboard sends it:
 * what the statement-count test and the API bench run, so both measure the real pages.
 */
export function dashboardOperation(file: string, name: string): string {
  const operation = separateOperations(parse(readFileSync(`${PROJECT_ROOT}web/operations/${file}`, 'utf8')))[name];
  if (!operation) throw new Error(`no operation ${name} in web/operations/${file}`);
  return print(operation);
}
