import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { renderBodyTemplate, templateProblems } from '../../src/notify/body-template.js';

const context = {
  trip: { id: 't-1', start_time_utc: '2026-11-25T08:00:00.000000Z' },
  device: { name: 'Van "7" \\ north\nline', vehicle_id: 7, tags: ['a', 'b'] },
  result: { records: 12, first_ts: null },
  trigger: { description: 'x' },
};

const render = (template: string): Record<string, unknown> => JSON.parse(renderBodyTemplate(template, context)) as Record<string, unknown>;

describe('body templates: {{path}} placeholders over plain data', () => {
  it('inserts values as JSON outside strings and as escaped text inside them', () => {
    const out = renderBodyTemplate(
      '{"v": {{device.vehicle_id}}, "name": {{device.name}}, "text": "Van {{device.name}} had {{result.records}} records", "tags": {{device.tags}}, "trip": {{trip}}}',
      context,
    );
    assert.deepEqual(JSON.parse(out), {
      v: 7,
      name: 'Van "7" \\ north\nline',
      text: 'Van Van "7" \\ north\nline had 12 records',
      tags: ['a', 'b'],
      trip: context.trip,
    });
  });

  it('renders missing and null values as null outside strings and as nothing inside them', () => {
    const out = renderBodyTemplate('{"a": {{nope.nothing}}, "b": "[{{result.first_ts}}]", "c": {{result.first_ts}}}', context);
    assert.deepEqual(JSON.parse(out), { a: null, b: '[]', c: null });
  });

  it('keeps escaped quotes inside strings from confusing what is inside a string', () => {
    const out = renderBodyTemplate('{"a": "say \\"{{trip.id}}\\"", "b": {{trip.id}}}', context);
    assert.deepEqual(JSON.parse(out), { a: 'say "t-1"', b: 't-1' });
  });

  it('allows spaces inside braces and reads only own properties', () => {
    assert.equal(render('{"x": {{ trip.id }}}').x, 't-1');
    assert.equal(render('{"x": {{trip.toString}}, "y": {{trip.hasOwnProperty}}}').x, null);
    assert.equal(render('{"x": {{device.tags.1}}, "n": {{device.tags.length}}}').x, 'b');
    assert.equal(render('{"x": {{process.env}}, "y": {{globalThis}}}').x, null, 'only the context is visible');
  });

  it('refuses anything that is not a dotted path', () => {
    for (const bad of ['{{trip.__proto__}}', '{{constructor.name}}', '{{trip.id + 1}}', '{{a[0]}}', '{{}}', '{{ trip..id }}']) {
      assert.ok(templateProblems(`{"x": ${bad}}`).length > 0, bad);
      assert.throws(() => renderBodyTemplate(`{"x": ${bad}}`, context), /not a placeholder/);
    }
  });

  it('refuses a template that does not give JSON', () => {
    assert.throws(() => renderBodyTemplate('{"x": {{trip.id}}', context), /does not render to JSON/);
    assert.throws(() => renderBodyTemplate('hello {{trip.id}}', context), /does not render to JSON/);
  });
});
