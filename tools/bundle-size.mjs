#!/usr/bin/env node
/**
 * Prints the dashboard's JavaScript size, raw and gzipped, and fails above the budget
 * (250 KB gzip, issue 14): a dashboard that grows past it is noticed at build time.
 *
 * Usage: node tools/bundle-size.mjs dist/web
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_GZIP_BYTES = 250 * 1024;
const dir = path.resolve(process.argv[2] ?? 'dist/web');
const files = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.js'));
let raw = 0;
let gzip = 0;
for (const file of files) {
  const bytes = readFileSync(path.join(dir, String(file)));
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`dashboard JavaScript: ${files.length} file(s), ${kb(raw)} raw, ${kb(gzip)} gzip (budget ${kb(BUDGET_GZIP_BYTES)} gzip)`);
if (gzip > BUDGET_GZIP_BYTES) {
  console.error('dashboard JavaScript is over its gzip budget');
  process.exit(1);
}
