import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';

import fc from 'fast-check';

import { microsToIso } from '../../src/lib/time.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { UpdateDeviceSettingsDocument } from '../generated/graphql.js';
import { gql } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const recent = (): string => microsToIso(BigInt(Date.now() - 3_600_000) * 1000n);

const time = fc.oneof(
  fc.constant(recent()),
  fc.constantFrom('1970-01-01T00:00:00Z', '0100-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z', '2031-02-03T04:05:06+02:00', 'yesterday', ''),
);
const tag = fc.oneof(fc.constantFrom('vehicle/engine/running', 'vehicle/engine/stopped', 'vehicle/rfid/1/rejected'), fc.string({ maxLength: 40 }));
const record = fc.oneof(
  fc.record({ '@t': fc.constantFrom('obd.rpm', 'track.pos'), '@ts': time, 'obd.rpm.value': fc.integer() }),
  fc.record({ '@t': fc.constant('event.vehicle.engine'), '@ts': time, '@tag': tag }),
  fc.record({ '@t': fc.constant('track.pos'), '@ts': time, 'track.pos.loc': fc.record({ lat: fc.double(), lon: fc.double() }) }),
  fc.jsonValue({ maxDepth: 12 }),
);
/** Mostly batches a device might send, then broken in small ways, then plain garbage. */
const body = fc.oneof(
  fc.tuple(fc.array(record, { maxLength: 60 }), fc.boolean()).map(([records, lines]) => (lines ? records.map((r) => JSON.stringify(r)).join('\n') : JSON.stringify(records))),
  fc
    .tuple(fc.array(record, { minLength: 1, maxLength: 10 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom('', '[', ']', '{', '}', '"', '\\', ',', '\n', '\u0000', '\uFFFF'))))
    .map(([records, edits]) =>
      edits.reduce((text, [at, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + (insert ? 0 : 1));
      }, JSON.stringify(records)),
    ),
  fc.nat({ max: 20 }).map((depth) => `[{"@t":"obd.rpm","@ts":"${recent()}","x":${'['.repeat(depth)}${']'.repeat(depth)}}]`),
  fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

describe('uploads and tag patterns under generated garbage (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let acme: TestCustomer;

  before(async () => {
    t = await startTestApp({ UPLOAD_MAX_RECORDS: '50', UPLOAD_MAX_RECORD_BYTES: '4096', UPLOAD_MAX_BYTES: '65536', UPLOAD_MAX_DEPTH: '10' });
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
  });
  after(() => t.close());

  /** Every row the device has, kept aside for an untrusted time or not. */
  const storedCount = async (device: TestDevice): Promise<number> =>
    Number(
      (
        await t.db.pool.query<{ n: string }>(
          'SELECT (SELECT count(*) FROM records WHERE device_id = $1) + (SELECT count(*) FROM records_untrusted_time WHERE device_id = $1) AS n',
          [device.id],
        )
      ).rows[0]!.n,
    );

  it('answers every body with 200 or a 4xx naming the problem, and stores a batch whole or not at all', async () => {
    const device = await createDevice(t.db.orm, acme);
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('plain', 'gzip', 'gzip-unlabelled'), async (text, encoding) => {
        const stored = await storedCount(device);
        const raw = Buffer.from(text);
        const response = await fetch(`${t.baseUrl}/logbook/storage/`, {
          method: 'POST',
          headers: { authorization: `token ${device.uploadToken}`, ...(encoding === 'gzip' ? { 'content-encoding': 'gzip' } : {}) },
          body: encoding === 'plain' ? raw : gzipSync(raw),
        });
        const answer = (await response.json()) as { detail?: string; stored?: number; duplicate?: boolean };
        assert.ok([200, 400, 413].includes(response.status), `${response.status} ${answer.detail} for ${text.slice(0, 200)}`);
        if (response.status !== 200) assert.equal(typeof answer.detail, 'string');
        assert.equal(
          await storedCount(device),
          stored + (response.status === 200 && !answer.duplicate ? answer.stored! : 0),
          `a batch is stored whole or not at all: ${response.status} ${JSON.stringify(answer)}`,
        );
      }),
      { numRuns: 150, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
  });

  it('saves or refuses any tag pattern as bad input, and uploads keep being answered whatever the tags', async () => {
    const device = await createDevice(t.db.orm, acme);
    const piece = fc.constantFrom('a', '/', '.', '*', '+', '?', '|', '(', ')', '[', ']', '{', '}', '\\', '^', '$', 'vehicle', '(a+)+', '\\1', '(?=', '(?<n>', '\u00e9');
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(piece, { maxLength: 10 }).map((p) => p.join('')),
          { maxLength: 3 },
        ),
        fc.array(tag, { minLength: 1, maxLength: 5 }),
        async (patterns, tags) => {
          const saved = await gql(t.baseUrl, UpdateDeviceSettingsDocument, { deviceId: device.id, settings: { startTags: patterns, endTags: patterns } }, acme.apiToken);
          for (const error of saved.errors ?? []) assert.equal(error.extensions?.code, 'BAD_USER_INPUT', error.message);
          const events = tags.map((tg, i) => ({ '@t': 'event.fuzz', '@tag': tg.trim() ? tg : 'x', '@ts': microsToIso(BigInt(Date.now()) * 1000n + BigInt(i)) }));
          const response = await fetch(`${t.baseUrl}/logbook/storage/`, {
            method: 'POST',
            headers: { authorization: `token ${device.uploadToken}` },
            body: JSON.stringify(events),
          });
          assert.equal(response.status, 200, await response.text());
        },
      ),
      { numRuns: 60 },
    );
  });
});
