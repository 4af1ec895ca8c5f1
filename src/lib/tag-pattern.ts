/**
 * Patterns over event tags (`vehicle/engine/running`): the trip settings' regular expressions,
 * and globs for whatever listens to tags by wildcard (event triggers). Both run on RE2 (re2js):
 * matching takes time linear in the tag whatever the pattern says, where a backtracking
 * JavaScript RegExp is exponential on patterns like `(a+)+b` (32 characters of tag stalled
 * every customer for 162 s). RE2 refuses what needs backtracking (backreferences, lookaround).
 */
import { RE2JS } from 're2js';

/** `regex`: RE2 syntax, whole-tag match. `glob`: `*` is any run within one level, `**` any run. */
export type TagPatternSyntax = 'regex' | 'glob';

export type TagMatcher = (tag: string) => boolean;

/** Longest pattern accepted at input: tags are short paths. */
const MAX_TAG_PATTERN_LENGTH = 256;
/** RE2's own measure of a compiled pattern's cost; `a{1000}` is 1,002, the defaults 24 to 44. */
const MAX_PROGRAM_SIZE = 2_000;
/** Distinct patterns kept compiled; every device sharing a pattern shares one entry. */
const CACHE_SIZE = 1_000;

const cache = new Map<string, TagMatcher>();
const never: TagMatcher = () => false;

function toRe2(source: string, syntax: TagPatternSyntax): string {
  if (syntax === 'regex') return source;
  return source
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part && RE2JS.quote(part)))
    .join('');
}

function compile(source: string, syntax: TagPatternSyntax): RE2JS {
  // Compiled alone first: `a)|(b` must not close the anchoring group around it.
  const alone = RE2JS.compile(toRe2(source, syntax));
  return syntax === 'regex' ? RE2JS.compile(`(?:${alone.pattern()})`) : alone;
}

/**
 * What is wrong with `source` as a pattern a customer saves, or `undefined` when it is fine.
 * Stricter than {@link tagMatcher}: limits apply to new input only, so stored patterns keep working.
 */
export function tagPatternProblem(source: string, syntax: TagPatternSyntax = 'regex'): string | undefined {
  if (source.length === 0) return 'is empty';
  if (source.length > MAX_TAG_PATTERN_LENGTH) return `is longer than ${MAX_TAG_PATTERN_LENGTH} characters`;
  let re: RE2JS;
  try {
    re = compile(source, syntax);
  } catch (error) {
    return `is not a valid pattern (${(error as Error).message.replace(/^error parsing regexp: /, '')})`;
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) return 'is too complex';
  // A glob habit in a regular expression: `/*` repeats the slash and matches no real tag.
  if (syntax === 'regex' && /(^|[^\\[])\/\*/.test(source)) return 'repeats "/" with "*"; for every tag below a level write ".*" (vehicle/engine/.*)';
  return undefined;
}

/**
 * A whole-tag matcher for `source`, compiled once per distinct pattern. A stored pattern that
 * RE2 cannot run (saved before patterns were checked this way) matches no tag.
 */
export function tagMatcher(source: string, syntax: TagPatternSyntax = 'regex'): TagMatcher {
  const key = `${syntax}\0${source}`;
  let matcher = cache.get(key);
  if (matcher) return matcher;
  try {
    const re = compile(source, syntax);
    matcher = (tag) => re.testExact(tag);
  } catch {
    matcher = never;
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, matcher);
  return matcher;
}
