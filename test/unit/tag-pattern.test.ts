import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { tagMatcher, tagPatternProblem } from '../../src/lib/tag-pattern.js';
import { DEFAULT_TRIP_SETTINGS, validateSettings } from '../../src/modules/devices/trip-settings.js';

const TAGS = [
  'vehicle/engine/running',
  'vehicle/engine/stopped',
  'vehicle/engine/not_running',
  'stopped',
  'vehicle/rfid/04a1/rejected',
  'vehicle/rfid/x/y/unauthenticated',
  'vehicle/rfid/rejected',
  'vehicle/battery/low',
  '',
];

describe('tag patterns', () => {
  it('matches the product defaults and its examples on the whole tag, as the regular expressions did', () => {
    const patterns = [
      ...DEFAULT_TRIP_SETTINGS.startTags,
      ...DEFAULT_TRIP_SETTINGS.endTags,
      ...DEFAULT_TRIP_SETTINGS.finalEndTags,
      'vehicle/engine/not_running|stopped',
      'vehicle/engine/.*',
      '[a-z/]+_\\w+',
    ];
    for (const pattern of patterns) {
      assert.equal(tagPatternProblem(pattern), undefined, pattern);
      const before = new RegExp(`^(?:${pattern})$`);
      for (const tag of TAGS) assert.equal(tagMatcher(pattern)(tag), before.test(tag), `${pattern} on "${tag}"`);
    }
    assert.equal(tagMatcher('vehicle/engine')('vehicle/engine/running'), false, 'a prefix is not a match');
  });

  it('runs a pattern that backtracks exponentially in JavaScript in linear time', () => {
    const tag = 'a'.repeat(5_000);
    assert.equal(tagPatternProblem('(a+)+b'), undefined);
    // JavaScript's RegExp takes 162 s at 32 characters and doubles with each one more.
    assert.equal(tagMatcher('(a+)+b')(tag), false);
    assert.equal(tagMatcher('(a+)+b')(`${tag}b`), true);
  });

  it('refuses at input what RE2 cannot run or what is not a pattern, naming why', () => {
    assert.match(tagPatternProblem('(') ?? '', /not a valid pattern.*missing closing \)/);
    assert.match(tagPatternProblem('(a)\\1') ?? '', /not a valid pattern/);
    assert.match(tagPatternProblem('(?=a)a') ?? '', /not a valid pattern/);
    assert.match(tagPatternProblem('a)|(b') ?? '', /not a valid pattern/, 'cannot close the anchoring group');
    assert.match(tagPatternProblem('vehicle/engine/*') ?? '', /vehicle\/engine\/\.\*/, 'a glob in a regex gets a hint');
    assert.match(tagPatternProblem('x'.repeat(300)) ?? '', /longer than 256/);
    assert.match(tagPatternProblem('(a{1000}){1000}') ?? '', /not a valid pattern|too complex/);
    assert.match(tagPatternProblem('') ?? '', /empty/);

    const problems = validateSettings({ startTags: ['vehicle/engine/running', '(a'], endTags: Array.from({ length: 21 }, () => 'x') });
    assert.deepEqual(problems.length, 2);
    assert.match(problems[0]!, /^startTags pattern "\(a" is not a valid pattern/);
    assert.match(problems[1]!, /endTags may hold at most 20 patterns/);
  });

  it('keeps a stored pattern RE2 cannot run from failing uploads: it matches nothing', () => {
    assert.equal(tagMatcher('(a)\\1')('aa'), false);
  });

  it('reads globs: * within one level, ** across levels, everything else literal', () => {
    const one = tagMatcher('vehicle/battery/*', 'glob');
    assert.equal(one('vehicle/battery/low'), true);
    assert.equal(one('vehicle/battery/'), true);
    assert.equal(one('vehicle/battery/low/critical'), false);
    assert.equal(tagMatcher('vehicle/**', 'glob')('vehicle/battery/low/critical'), true);
    assert.equal(tagMatcher('a.b+(c)', 'glob')('a.b+(c)'), true);
    assert.equal(tagMatcher('a.b', 'glob')('axb'), false);
    assert.equal(tagPatternProblem('vehicle/*/low', 'glob'), undefined);
  });

  it('never throws on generated garbage, and agrees with RegExp wherever both accept a pattern', () => {
    const piece = fc.constantFrom(
      'a',
      'b',
      '/',
      '.',
      '*',
      '+',
      '?',
      '|',
      '(',
      ')',
      '[',
      ']',
      '^',
      '$',
      '\\',
      '{',
      '}',
      ',',
      '1',
      '-',
      'vehicle',
      'engine',
      '.*',
      '(a|b)',
      '[a-z]',
      '\\d',
      '\\w',
    );
    const pattern = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
    const tag = fc.oneof(
      fc.constantFrom(...TAGS),
      fc.string({ maxLength: 40 }),
      fc.array(fc.constantFrom('a', 'b', '/', '1', 'vehicle', 'engine'), { maxLength: 10 }).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(pattern, fc.array(tag, { maxLength: 5 }), fc.constantFrom('regex' as const, 'glob' as const), (source, tags, syntax) => {
        const problem = tagPatternProblem(source, syntax);
        assert.ok(problem === undefined || typeof problem === 'string');
        const match = tagMatcher(source, syntax);
        for (const t of tags) assert.equal(typeof match(t), 'boolean');
        if (syntax !== 'regex' || problem !== undefined || /[\\^$]|\{/.test(source)) return;
        let before: RegExp;
        try {
          before = new RegExp(`^(?:${source})$`);
        } catch {
          return;
        }
        for (const t of tags) assert.equal(match(t), before.test(t), `${source} on ${JSON.stringify(t)}`);
      }),
      { numRuns: 2000 },
    );
  });
});
