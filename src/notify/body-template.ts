/**
 * Webhook body templates: JSON text with `{{path.to.value}}` placeholders. Whatever a trip
 * or a device name contains, the result stays valid JSON:
 * - inside a JSON string (`"Trip {{trip.id}} ready"`) the value is inserted as escaped text
 *   (a missing value as nothing);
 * - elsewhere (`"records": {{result.records}}`) it is inserted as a JSON value (a string
 *   quoted, an object as an object, a missing value as `null`).
 * There is nothing to execute: no expressions, no helpers, only own properties of plain data.
 */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/y;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$/;
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);
const MAX_TEMPLATE_LENGTH = 16 * 1024;

export type TemplateContext = Readonly<Record<string, unknown>>;

function lookup(context: TemplateContext, path: string): unknown {
  let current: unknown = context;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const isPath = (path: string): boolean => PATH.test(path) && !path.split('.').some((key) => FORBIDDEN.has(key));

function inString(value: unknown): string {
  if (value === undefined || value === null) return '';
  return JSON.stringify(typeof value === 'string' ? value : JSON.stringify(value)).slice(1, -1);
}

/** Walks the template once, tracking whether each placeholder sits inside a JSON string. */
function substitute(template: string, replace: (path: string, quoted: boolean) => string): string {
  let out = '';
  let quoted = false;
  let i = 0;
  while (i < template.length) {
    PLACEHOLDER.lastIndex = i;
    const match = PLACEHOLDER.exec(template);
    if (match) {
      out += replace(match[1] ?? '', quoted);
      i += match[0].length;
      continue;
    }
    const c = template[i];
    if (quoted && c === '\\') {
      out += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '"') quoted = !quoted;
    out += c;
    i += 1;
  }
  return out;
}

/** Problems with a template's syntax (empty when it is usable). */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  if (template.length > MAX_TEMPLATE_LENGTH) problems.push(`body template must be at most ${MAX_TEMPLATE_LENGTH} characters`);
  substitute(template, (path) => {
    if (!isPath(path)) problems.push(`"{{${path}}}" is not a placeholder; use {{name.name}} with letters, digits and _`);
    return '';
  });
  return problems;
}

/** Renders the template; throws when it is malformed or the result is not JSON. */
export function renderBodyTemplate(template: string, context: TemplateContext): string {
  const problems = templateProblems(template);
  if (problems.length) throw new Error(problems.join('; '));
  const rendered = substitute(template, (path, quoted) => {
    const value = lookup(context, path);
    return quoted ? inString(value) : JSON.stringify(value ?? null);
  });
  try {
    JSON.parse(rendered);
  } catch (error) {
    throw new Error(`the body template does not render to JSON: ${(error as Error).message}`);
  }
  return rendered;
}
