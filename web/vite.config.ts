/**
 * The dashboard's build: web/ -> dist/web, served by the API at GET /. It ships with the service,
 * so its operations (web/operations, typed by `npm run codegen`) are checked against this very schema.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
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
