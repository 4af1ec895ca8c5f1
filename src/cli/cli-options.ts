/**
 * The one options parser of the command-line tools (demo, simulator): flags first, then an
 * environment variable named in the spec, then the default. The service itself reads its
 * environment only through `config/config.ts`.
 */
import { parseArgs } from 'node:util';

interface BaseSpec {
  readonly description: string;
  readonly env?: string;
}
export interface StringSpec extends BaseSpec {
  readonly kind: 'string';
  readonly default?: string;
}
export interface NumberSpec extends BaseSpec {
  readonly kind: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}
export interface FlagSpec extends BaseSpec {
  readonly kind: 'flag';
}
export type OptionSpec = StringSpec | NumberSpec | FlagSpec;

export type OptionValues<S extends Record<string, OptionSpec>> = {
  -readonly [K in keyof S]: S[K] extends NumberSpec ? number : S[K] extends FlagSpec ? boolean : S[K] extends { default: string } ? string : string | undefined;
};

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Runs a command's `main` and exits with the code it resolves to. A bad option, or one of the
 * `expected` errors (an API's refusal, say), prints its message alone; anything else its stack.
 */
export function runCommand(name: string, main: () => Promise<number>, expected: readonly (abstract new (...args: never[]) => Error)[] = []): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const known = error instanceof UsageError || expected.some((type) => error instanceof type);
      console.error(`${name} failed: ${known ? (error as Error).message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}

/** Usage text: one line per option with its default and environment variable. */
export function usage(command: string, spec: Record<string, OptionSpec>): string {
  const lines = Object.entries(spec).map(([name, o]) => {
    const arg = o.kind === 'flag' ? '' : o.kind === 'number' ? ' N' : ' VALUE';
    const extra = [o.kind !== 'flag' && o.default !== undefined ? `default ${o.default}` : '', o.env ? `env ${o.env}` : ''].filter(Boolean).join(', ');
    return `  --${name}${arg}`.padEnd(26) + o.description + (extra ? ` (${extra})` : '');
  });
  return [`usage: ${command} [options]`, ...lines, '  --help'.padEnd(26) + 'this text'].join('\n');
}

/** Parses `argv` against `spec`; throws {@link UsageError} naming every bad option. */
export function parseOptions<S extends Record<string, OptionSpec>>(
  spec: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OptionValues<S> & { help: boolean } {
  const options = Object.fromEntries(Object.entries(spec).map(([name, o]) => [name, { type: o.kind === 'flag' ? ('boolean' as const) : ('string' as const) }]));
  let parsed: ReturnType<typeof parseArgs>['values'];
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const problems: string[] = [];
  const values: Record<string, unknown> = { help: parsed.help === true };
  for (const [name, o] of Object.entries(spec)) {
    const given = parsed[name];
    const fromEnv = o.env ? env[o.env]?.trim() || undefined : undefined;
    if (o.kind === 'flag') {
      values[name] = given === true || (fromEnv !== undefined && ['1', 'true', 'yes', 'on'].includes(fromEnv.toLowerCase()));
      continue;
    }
    const raw = typeof given === 'string' ? given : fromEnv;
    if (o.kind === 'string') {
      values[name] = raw ?? o.default;
      continue;
    }
    const n = raw === undefined ? o.default : Number(raw);
    if (!Number.isFinite(n) || n < o.min || n > o.max || (o.integer && !Number.isInteger(n))) {
      problems.push(`--${name} must be ${o.integer ? 'an integer' : 'a number'} between ${o.min} and ${o.max} (got "${raw}")`);
    }
    values[name] = n;
  }
  if (problems.length) throw new UsageError(problems.join('\n'));
  return values as OptionValues<S> & { help: boolean };
}
