#!/usr/bin/env node
/**
 * Fails when folders of src/ import each other in a cycle.
 *
 * A unit is a folder directly under src/ (`src/lib`, `src/graphql`, ...), except that each
 * feature under src/modules/ is a unit of its own. The top-level wiring (src/*.ts: main, app,
 * services) may import anything and is left out. Imports are read as text: `import … from`,
 * `export … from` and `import('…')` with a relative path; `import type` counts too, since a
 * type cycle is a design cycle all the same.
 *
 * It also fails when a folder other than the entry points (`cli`) imports the wiring: the
 * wiring knows every feature, so whatever imports it sits in a cycle with all of them.
 *
 * Usage: node tools/check-cycles.mjs [srcDir]   (prints each cycle with one import per edge)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(process.argv[2] ?? 'src');

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

/** The unit a file belongs to, or undefined for the top-level wiring. */
function unitOf(file) {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return undefined;
  if (parts[0] === 'modules' && parts.length > 2) return `modules/${parts[1]}`;
  return parts[0];
}

const IMPORT = /(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

/** Folders that may import the wiring: they start the program, nothing imports them. */
const ENTRY_POINTS = new Set(['cli']);

/** unit -> unit -> one example "file -> import" for the message */
const edges = new Map();
/** "file imports spec" for every import of the wiring from outside the entry points */
const wiringImports = [];
for (const file of sourceFiles(SRC)) {
  const from = unitOf(file);
  if (!from) continue;
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (!spec?.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec);
    if (!target.startsWith(SRC + path.sep)) continue;
    const to = unitOf(target);
    if (!to && !ENTRY_POINTS.has(from)) wiringImports.push(`${path.relative(SRC, file)} imports ${spec}`);
    if (!to || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${path.relative(SRC, file)} imports ${spec}`);
  }
}

// Tarjan's strongly connected components: every component of more than one unit is a cycle.
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
let counter = 0;
function visit(unit) {
  index.set(unit, counter);
  low.set(unit, counter);
  counter++;
  stack.push(unit);
  onStack.add(unit);
  for (const next of edges.get(unit)?.keys() ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(unit, Math.min(low.get(unit), low.get(next)));
    } else if (onStack.has(next)) {
      low.set(unit, Math.min(low.get(unit), index.get(next)));
    }
  }
  if (low.get(unit) === index.get(unit)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== unit);
    if (component.length > 1) components.push(component.sort());
  }
}
for (const unit of edges.keys()) if (!index.has(unit)) visit(unit);

for (const example of wiringImports) console.error(`the wiring (src/*.ts) is imported from a folder: ${example}`);
if (wiringImports.length > 0) process.exitCode = 1;

if (components.length === 0) {
  console.log(
    `check-cycles: no import cycle between the ${new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]).size} folders of ${path.relative(process.cwd(), SRC) || '.'}`,
  );
} else {
  for (const component of components) {
    console.error(`import cycle between ${component.length} folders: ${component.join(', ')}`);
    const members = new Set(component);
    for (const from of component) {
      for (const [to, example] of edges.get(from) ?? []) if (members.has(to)) console.error(`  ${from} -> ${to}   (${example})`);
    }
  }
  process.exitCode = 1;
}
