import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { createGzip } from 'node:zlib';

import { microsToIso } from '../../src/lib/time.js';
import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { at, engine, position, rpm, upload } from '../factories/records.js';
import { CreateTemplateDocument, UpdateDeviceSettingsDocument } from '../generated/graphql.js';
import { gql, request } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** The gzip of `parts` repeated: a small body that inflates to a great deal. */
function gzipOf(head: string, repeated: Buffer, times: number, tail: string): Promise<Buffer> {
  function* parts(): Generator<Buffer> {
    yield Buffer.from(head);
    const block = Buffer.concat(Array.from({ length: Math.min(times, 20_000) }, () => repeated));
    const per = block.length / repeated.length;
    for (let left = times; left > 0; left -= per) yield left >= per ? block : block.subarray(0, left * repeated.length);
    yield Buffer.from(tail);
  }
  return buffer(Readable.from(parts()).pipe(createGzip({ level: 9 })));
}

async function post(baseUrl: string, device: TestDevice, body: Buffer | string, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseUrl}/logbook/storage/`, { method: 'POST', headers: { authorization: `token ${device.uploadToken}`, ...headers }, body });
  return { status: response.status, body: (await response.json()) as { detail?: string; stored?: number; trips?: Record<string, number> } };
}

describe('hostile uploads and tag patterns', () => {
  let t: TestApp;
  let acme: TestCustomer;
  let globex: TestCustomer;

  before(async () => {
    t = await startTestApp();
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    globex = await createCustomer(t.db.orm, t.config, 'Globex');
  });
  after(() => t.close());

  /** An hour ago, plus `seconds`: a time any device clock with a fix could log. */
  const recent = (seconds = 0): string => at(microsToIso(BigInt(Date.now() - 3_600_000) * 1000n), seconds);

  const storedCount = async (device: TestDevice): Promise<number> =>
    Number((await t.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM records WHERE device_id = $1', [device.id])).rows[0]!.n);

  /**
   * Runs `hostile` while another customer lists its tasks again and again; answers each of
   * those requests' times and what `hostile` answered, and how long that took.
   */
  async function whileOtherCustomerAsks<T>(hostile: () => Promise<T>): Promise<{ result: T; hostileMs: number; otherMs: number[] }> {
    let done = false;
    const started = performance.now();
    const running = hostile().finally(() => {
      done = true;
    });
    const hostileMs = running.then(() => performance.now() - started);
    const otherMs: number[] = [];
    do {
      const asked = performance.now();
      const tasks = await request(t.baseUrl, 'GET', '/tasks/', { token: globex.apiToken });
      assert.equal(tasks.status, 200);
      otherMs.push(performance.now() - asked);
    } while (!done);
    return { result: await running, hostileMs: await hostileMs, otherMs };
  }

  it('matches a catastrophic tag pattern in linear time while another customer still gets answers', async (ctx) => {
    const device = await createDevice(t.db.orm, acme);
    const saved = await gql(t.baseUrl, UpdateDeviceSettingsDocument, { deviceId: device.id, settings: { startTags: ['(a+)+b'] } }, acme.apiToken);
    assert.equal(saved.errors, undefined);
    // A backtracking RegExp needs about 5 s for 27 "a"s, twice that for each one more.
    const tag = 'a'.repeat(27);
    const { result, hostileMs, otherMs } = await whileOtherCustomerAsks(() =>
      upload(t.baseUrl, device, [
        { '@t': 'event.a', '@tag': tag, '@ts': recent() },
        { '@t': 'event.a', '@tag': `${tag}b`, '@ts': recent(1) },
      ]),
    );
    ctx.diagnostic(`upload ${Math.round(hostileMs)} ms; another customer's slowest answer ${Math.round(Math.max(...otherMs))} ms`);
    assert.equal(result.status, 200);
    assert.deepEqual(result.body.trips, { started: 1, ended: 0, reopened: 0 }, 'the pattern still matches what it says');
    assert.ok(Math.max(...otherMs) < 1000, `another customer waited ${Math.round(Math.max(...otherMs))} ms`);
  });

  it('refuses tag patterns it cannot run, naming them, in device settings and templates', async () => {
    const device = await createDevice(t.db.orm, acme);
    for (const [pattern, why] of [
      ['(a', /missing closing \)/],
      ['(engine)\\1', /invalid escape/],
      ['vehicle/engine/*', /vehicle\/engine\/\.\*/],
    ] as const) {
      const res = await gql(t.baseUrl, UpdateDeviceSettingsDocument, { deviceId: device.id, settings: { endTags: ['vehicle/engine/stopped', pattern] } }, acme.apiToken);
      assert.equal(res.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', pattern);
      assert.ok(res.errors[0].message.includes(`endTags pattern ${JSON.stringify(pattern)}`), res.errors[0].message);
      assert.match(res.errors[0].message, why);
    }
    const template = await gql(t.baseUrl, CreateTemplateDocument, { input: { name: 'bad', settings: { finalEndTags: ['(?<=x)y'] } } }, acme.apiToken);
    assert.equal(template.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(template.errors[0].message, /finalEndTags pattern "\(\?<=x\)y" is not a valid pattern/);
  });

  it('refuses a gzip bomb of 3,000,000 tiny records at once, stores nothing, and keeps answering others', async (ctx) => {
    const device = await createDevice(t.db.orm, acme);
    const tiny = `{"@t":"a","@ts":"${recent().slice(0, 19)}Z"}`;
    const bomb = await gzipOf('[', Buffer.from(`${tiny},`), 3_000_000, `${tiny}]`);
    assert.ok(bomb.length < 400_000, `bomb is ${bomb.length} bytes`);
    const { result, hostileMs, otherMs } = await whileOtherCustomerAsks(() => post(t.baseUrl, device, bomb, { 'content-encoding': 'gzip' }));
    ctx.diagnostic(`${bomb.length} byte bomb refused in ${Math.round(hostileMs)} ms; another customer's slowest answer ${Math.round(Math.max(...otherMs))} ms`);
    assert.equal(result.status, 413);
    assert.match(result.body.detail ?? '', /more than 10000 records/);
    assert.ok(Math.max(...otherMs) < 1000, `another customer waited ${Math.round(Math.max(...otherMs))} ms`);
    assert.equal(await storedCount(device), 0);
  });

  it('refuses one 120 MiB string sent as a small gzip body as too large, naming the limit', async () => {
    const device = await createDevice(t.db.orm, acme);
    const body = await gzipOf(`[{"@t":"obd.rpm","@ts":"${recent()}","x":"`, Buffer.alloc(1024 * 1024, 'a'), 120, '"}]');
    assert.ok(body.length < 200_000, `body is ${body.length} bytes`);
    const res = await post(t.baseUrl, device, body, { 'content-encoding': 'gzip' });
    assert.equal(res.status, 413);
    assert.equal(res.body.detail, 'Record 0 is larger than 1048576 bytes; nothing was stored');
    assert.equal(await storedCount(device), 0);
  });

  it('answers a record nested 5,000 levels deep with 400 naming it, in arrays and JSON Lines', async () => {
    const device = await createDevice(t.db.orm, acme);
    const deep = `{"@t":"obd.rpm","@ts":"${recent()}","x":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const array = await post(t.baseUrl, device, `[${JSON.stringify(rpm(recent(), 1))},${deep}]`);
    assert.equal(array.status, 400);
    assert.equal(array.body.detail, 'Record 1 is nested deeper than 32 levels; nothing was stored');
    const lines = await post(t.baseUrl, device, `${deep}\n`, { 'content-type': 'application/x-ndjson' });
    assert.equal(lines.status, 400);
    assert.equal(await storedCount(device), 0);
    // 32 levels are fine.
    const ok = await post(t.baseUrl, device, `[{"@t":"obd.rpm","@ts":"${recent()}","x":${'['.repeat(31)}${']'.repeat(31)}}]`);
    assert.equal(ok.status, 200);
  });

  it('keeps positions a device cannot mean out of trip statistics instead of failing every later upload', async () => {
    const device = await createDevice(t.db.orm, acme);
    const absurd = [position(recent(1), -5e-323, 0.0069), position(recent(2), 1e64, -6e64), position(recent(3), 56.1, 10.2), position(recent(4), 56.1 + 1e-300, 10.2)];
    assert.equal((await upload(t.baseUrl, device, [engine(recent(), 'running'), ...absurd])).status, 200);
    const end = await upload(t.baseUrl, device, [engine(recent(10), 'stopped')]);
    assert.equal(end.status, 200);
    assert.deepEqual(end.body.trips, { started: 0, ended: 1, reopened: 0 });
  });

  it('stores records at times no clock with a fix logs without a partition per month, and cuts no trips from them', async () => {
    const device = await createDevice(t.db.orm, acme);
    const partitions = async (): Promise<number> =>
      Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'records'::regclass`)).rows[0]!.n);
    const before = await partitions();
    const future = Array.from({ length: 300 }, (_, i) => rpm(`${2030 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}-15T08:00:00.000000Z`, i));
    const clockless = [engine('1970-01-01T00:00:05.000000Z', 'running'), rpm('0100-01-01T00:00:00Z', 1), engine('9999-12-31T23:59:59.999999Z', 'running')];
    const res = await upload(t.baseUrl, device, [...future, ...clockless]);
    assert.equal(res.status, 200);
    assert.equal(res.body.stored, 303);
    assert.deepEqual(res.body.trips, { started: 0, ended: 0, reopened: 0 });
    assert.equal(await partitions(), before, 'no partition was created');
    assert.equal(await storedCount(device), 0, 'nothing in records: no export or trip reads them');
    const { rows } = await t.db.pool.query<{ n: string; rec: string }>(`SELECT count(*) AS n, min(line::jsonb->>'@rec') AS rec FROM records_untrusted_time WHERE device_id = $1`, [
      device.id,
    ]);
    assert.equal(rows[0]!.n, '303', 'kept aside, stored as uploads store records');
    assert.ok(rows[0]!.rec > recent());

    // The year-9999 event did not hold back the device's real ones.
    const drive = await upload(t.baseUrl, device, [engine(recent(), 'running'), engine(recent(60), 'stopped')]);
    assert.deepEqual(drive.body.trips, { started: 1, ended: 1, reopened: 0 });
  });
});
