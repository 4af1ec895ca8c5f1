import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';

import type { Browser, Page } from 'playwright-core';

import { createCustomer, createDevice, type TestCustomer, type TestDevice } from '../factories/accounts.js';
import { at, drive, position, upload } from '../factories/records.js';
import { createTrip, endTrip, insertExportedTrips, insertRecords, type TestTrip } from '../factories/trips.js';
import { browserMissing, launchChromium, type WatchedPage, watchedPage } from '../support/browser.js';
import { waitForTask } from '../support/exports.js';
import { gql } from '../support/http.js';
import { DIST_ROOT, freePort } from '../support/process.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait.js';
import { startWebhookReceiver, verifyWithStandardWebhooks, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Every run saves a screenshot of each screen under dist/screenshots/; with UPDATE_SCREENSHOTS=1
 * they go to docs/screenshots/ instead, the ones the README shows (a plain run leaves git clean).
 */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(DIST_ROOT, '..', 'docs', 'screenshots') : path.join(DIST_ROOT, 'screenshots');
const missing = browserMissing();

describe('dashboard in a real browser (GET /)', { skip: missing }, () => {
  let t: TestApp;
  let browser: Browser;
  let acme: TestCustomer;
  let van: TestDevice;
  let trip: TestTrip;
  let receiver: WebhookReceiver;
  let watched: WatchedPage[] = [];

  /** A completed trip of `device` with a drive of positions, exported automatically. */
  async function drivenTrip(customer: TestCustomer, device: TestDevice, start: string, points: number): Promise<TestTrip> {
    const created = await createTrip(t.db.orm, customer, device, start);
    const records = Array.from({ length: points }, (_, i) => {
      const ts = at(start, i * 5);
      // A loop of ~2 km around Oslo: a track with a shape, so the screenshot shows one.
      const angle = (i / points) * 2 * Math.PI;
      const record = { ...position(ts, 59.91 + 0.006 * Math.sin(angle), 10.75 + 0.012 * (1 - Math.cos(angle))), '@uid': device.unitId, '@vid': device.vehicleId };
      return { ts, line: JSON.stringify(record) };
    });
    await insertRecords(t.db.pool, device, records);
    await endTrip(t.app.services, created, records.at(-1)!.ts);
    return created;
  }

  async function open(options?: { width?: number; height?: number }): Promise<WatchedPage> {
    const w = await watchedPage(browser, options);
    watched.push(w);
    return w;
  }

  async function signInWithPassword(page: Page, customer: TestCustomer): Promise<void> {
    await page.goto(`${t.baseUrl}/`);
    await page.locator('input[type="email"]').fill(customer.email);
    await page.locator('input[type="password"][name="password"]').fill(customer.password);
    await page.locator('input[type="password"][name="password"]').press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  }

  async function signInWithToken(page: Page, customer: TestCustomer, baseUrl = t.baseUrl): Promise<void> {
    await page.goto(`${baseUrl}/`);
    await page.getByText('Use an API token instead').click();
    await page.getByLabel('API token', { exact: true }).fill(customer.apiToken);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** Every test ends with no console error, no uncaught exception, no failed or refused request. */
  function assertClean(): void {
    const problems = watched.flatMap((w) => w.problems);
    assert.deepEqual(problems, []);
  }

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    // A known port, so PUBLIC_URL (from it) is where the browser can follow Task.downloadUrl.
    t = await startTestApp({ RETENTION_DAYS: '3650', PORT: String(await freePort()) });
    browser = await launchChromium();
    receiver = await startWebhookReceiver();
    acme = await createCustomer(t.db.orm, t.config, 'Acme');
    van = await createDevice(t.db.orm, acme, { autoExport: true, reopenLimitSeconds: 1 });
    trip = await drivenTrip(acme, van, '2026-04-01T08:00:00.000000Z', 120);
    await waitForTask(t.db.pool, trip.id, 'SUCCESS');
  });
  after(async () => {
    await browser?.close();
    await receiver?.close();
    await t?.close();
  });

  it('signs in with e-mail and password (Enter submits), shows the device, its exported trip and track, and downloads the gzip file', async () => {
    const globex = await createCustomer(t.db.orm, t.config, 'Globex');
    await createDevice(t.db.orm, globex);
    const { page } = await open();
    await page.goto(`${t.baseUrl}/`);
    await shot(page, 'sign-in');
    await signInWithPassword(page, acme);

    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Van' }) });
    await row.getByText('SUCCESS').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Van' }).count(), 1, "another customer's device is not listed");
    await row.getByRole('link', { name: trip.id.slice(0, 8) }).waitFor();
    await page.getByText(van.unitId).waitFor();
    await shot(page, 'fleet');

    await row.getByRole('link', { name: trip.id.slice(0, 8) }).click();
    await page.getByTestId('trip-id').filter({ hasText: trip.id }).waitFor();
    const task = await waitForTask(t.db.pool, trip.id, 'SUCCESS');
    await page.getByText(task.result_sha256!).waitFor();
    await page.getByRole('img', { name: 'Track of 120 positions' }).waitFor();
    await shot(page, 'trip');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: `Download ${trip.id}.json.gz` }).click()]);
    const gzip = await readFile(await download.path());
    assert.equal(download.suggestedFilename(), `${trip.id}.json.gz`);
    assert.equal(createHash('sha256').update(gzip).digest('hex'), task.result_sha256);
    const lines = gunzipSync(gzip).toString('utf8').trimEnd().split('\n');
    assert.equal((JSON.parse(lines[0]!) as { id: string }).id, trip.id);
    assert.equal(lines.length, 121);

    await page.getByRole('link', { name: 'Van' }).click();
    await page.getByRole('heading', { name: 'Device Van' }).waitFor();
    await page.getByRole('row').filter({ hasText: 'Auto export' }).getByText('device').waitFor();
    await shot(page, 'device');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[type="email"]').waitFor();
    assertClean();
  });

  it('shows a new export without a reload, through tripExportFinished over graphql-ws', async () => {
    const { page } = await open();
    await signInWithToken(page, acme);
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    await page.getByText('live', { exact: true }).waitFor();
    // Survives only if the page is never reloaded.
    await page.evaluate('window.notReloaded = true');

    const next = await drivenTrip(acme, van, '2026-04-02T09:00:00.000000Z', 60);
    await page
      .getByTestId('live-event')
      .getByRole('link', { name: next.id.slice(0, 8) })
      .waitFor({ timeout: 30_000 });
    await page
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: next.id.slice(0, 8) }) })
      .getByText('SUCCESS')
      .waitFor();
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    await shot(page, 'tasks');
    assertClean();
  });

  it('pages through more tasks than one screen holds, newest first, back to the first page when the filter changes', async () => {
    const fleet = await createCustomer(t.db.orm, t.config, 'Many tasks');
    const truck = await createDevice(t.db.orm, fleet);
    await insertExportedTrips(t.db.pool, fleet, truck, '2026-03-01T00:00:00.000000Z', 105);
    const { rows: oldest } = await t.db.pool.query<{ trip_id: string }>('SELECT trip_id FROM tasks WHERE customer_id = $1 ORDER BY id LIMIT 5', [fleet.customerId]);
    const { page } = await open();
    await signInWithToken(page, fleet);
    await page.getByRole('link', { name: 'Tasks' }).click();
    const tasks = page.getByRole('region', { name: 'Tasks' });
    const older = tasks.getByRole('button', { name: 'Older' });
    const newer = tasks.getByRole('button', { name: 'Newer' });
    const tripLinks = tasks.getByRole('row').getByRole('link', { name: /^[0-9a-f]{8}$/ });
    const shown = async () => new Set(await tripLinks.allInnerTexts());

    await tasks.getByText('1–100 of 105').waitFor();
    assert.equal(await newer.isDisabled(), true);
    const firstPage = await shown();
    assert.equal(firstPage.size, 100);
    for (const { trip_id } of oldest) assert.equal(firstPage.has(trip_id.slice(0, 8)), false);

    await older.click();
    await tasks.getByText('101–105 of 105').waitFor();
    assert.deepEqual([...(await shown())].sort(), oldest.map((row) => row.trip_id.slice(0, 8)).sort());
    assert.equal(await older.isDisabled(), true);

    await newer.click();
    await tasks.getByText('1–100 of 105').waitFor();
    await older.click();
    await tasks.getByText('101–105 of 105').waitFor();
    await tasks.getByLabel('State').selectOption('SUCCESS');
    await tasks.getByText('1–100 of 105').waitFor();
    assert.equal(await newer.isDisabled(), true);
    assertClean();
  });

  it('asks for its screens as persisted queries: the hash alone once the service knows the text', async () => {
    const { page } = await open();
    type Body = { query?: string; operationName?: string; extensions?: { persistedQuery?: { sha256Hash?: string } } };
    type Answer = { data?: unknown; errors?: { message: string }[] };
    const exchanges: { body: Body; answer: Answer }[] = [];
    page.on('requestfinished', (request) => {
      if (request.method() !== 'POST' || !request.url().endsWith('/graphql')) return;
      void request.response().then(async (response) => exchanges.push({ body: request.postDataJSON() as Body, answer: (await response!.json()) as Answer }));
    });
    await signInWithToken(page, acme);
    const nav = page.getByRole('navigation', { name: 'Main' });
    const fleetRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Van' }) });
    await fleetRow.getByText('SUCCESS').waitFor();
    await nav.getByRole('link', { name: 'Tasks' }).click();
    await page
      .getByRole('region', { name: 'Tasks' })
      .getByRole('row')
      .getByRole('link', { name: trip.id.slice(0, 8) })
      .waitFor();
    await nav.getByRole('link', { name: 'Fleet' }).click();
    await fleetRow.getByText('SUCCESS').waitFor();
    await waitFor(() => exchanges.filter((e) => e.body.operationName === 'Fleet').length >= 2, 'two fleet queries answered');

    const queries = exchanges.filter((e) => e.body.operationName === 'Fleet' || e.body.operationName === 'TaskList');
    for (const { body } of queries) assert.match(body.extensions?.persistedQuery?.sha256Hash ?? '', /^[0-9a-f]{64}$/, JSON.stringify(body));
    // The service did not know a text: it said so, and the text followed with the same hash.
    for (const [i, { body, answer }] of queries.entries()) {
      if (!answer.errors?.some((e) => e.message === 'PersistedQueryNotFound')) continue;
      assert.equal(body.query, undefined);
      const retry = queries.slice(i + 1).find((e) => e.body.extensions?.persistedQuery?.sha256Hash === body.extensions?.persistedQuery?.sha256Hash);
      assert.ok(retry, 'the text follows a miss');
      assert.ok(retry.body.query?.includes(`query ${body.operationName}`));
      assert.equal(retry.answer.errors, undefined);
    }
    // The second visit of the fleet screen is answered from the hash alone.
    const fleet = queries.filter((e) => e.body.operationName === 'Fleet').at(-1)!;
    assert.equal(fleet.body.query, undefined, 'the fleet query is sent without its text');
    assert.equal(fleet.answer.errors, undefined);
    assert.ok(JSON.stringify(fleet.answer.data).includes(van.unitId));
    assertClean();
  });

  it('resumes live updates after the socket drops, and catches up on what it missed', async () => {
    // The browser reaches the service through a proxy the test can cut, as a flaky network would.
    const proxy = await startTcpProxy(Number(new URL(t.baseUrl).port));
    try {
      const { page } = await open();
      await signInWithToken(page, acme, `http://127.0.0.1:${proxy.port}`);
      const status = page.getByRole('status', { name: /^Live updates/ });
      await status.and(page.locator('[data-status="live"]')).waitFor();
      await page.evaluate('window.notReloaded = true');

      // Held, not refused: a refused reconnect is a console error in Chromium, and the test counts those.
      proxy.hold();
      await status.and(page.locator('[data-status="reconnecting"]')).waitFor();
      // Finished while the socket was down: no event reaches this page for it.
      const missed = await drivenTrip(acme, van, '2026-04-03T07:00:00.000000Z', 30);
      await waitForTask(t.db.pool, missed.id, 'SUCCESS');
      await proxy.restore();
      await status.and(page.locator('[data-status="live"]')).waitFor({ timeout: 30_000 });
      await page.getByRole('link', { name: missed.id.slice(0, 8) }).waitFor();

      const next = await drivenTrip(acme, van, '2026-04-03T09:00:00.000000Z', 30);
      await page
        .getByTestId('live-event')
        .getByRole('link', { name: next.id.slice(0, 8) })
        .waitFor({ timeout: 30_000 });
      assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
      assertClean();
    } finally {
      await proxy.close();
    }
  });

  it('shows a trip started by an upload, and its end and export as task state changes, on the open fleet page without a reload (tripUpdated, taskUpdated)', async () => {
    const { page } = await open();
    await signInWithToken(page, acme);
    await page
      .getByRole('status', { name: /^Live updates/ })
      .and(page.locator('[data-status="live"]'))
      .waitFor();
    await page.evaluate('window.notReloaded = true');

    // The engine starts and the van drives: the trip starts, no export yet.
    const records = drive('2026-04-05T07:00:00Z', 30, 1);
    assert.equal((await upload(t.baseUrl, van, records.slice(0, -1))).status, 200);
    const started = await waitFor(
      async () => (await t.db.pool.query<{ id: string }>("SELECT id FROM trips WHERE device_id = $1 AND start_time_utc = '2026-04-05T07:00:00Z'", [van.id])).rows[0]?.id,
      'the uploaded trip to start',
    );
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'Van' }) });
    await row.getByRole('link', { name: started.slice(0, 8) }).waitFor({ timeout: 30_000 });

    // The engine stops: the trip ends, its export runs, and the row's task state reaches SUCCESS.
    assert.equal((await upload(t.baseUrl, van, records.slice(-1))).status, 200);
    await row.getByText('SUCCESS').waitFor({ timeout: 30_000 });
    await row.getByRole('link', { name: started.slice(0, 8) }).waitFor();
    assert.equal(await page.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    assertClean();
  });

  it('serves the dashboard with a CSP of self only, and leaves the API routes as they were', async () => {
    const page = await fetch(`${t.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https:/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    assert.ok(script, 'index.html loads its script from /assets/');
    const asset = await fetch(`${t.baseUrl}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    await asset.arrayBuffer();
    assert.equal((await fetch(`${t.baseUrl}/openapi.json`)).status, 200);
    assert.equal((await fetch(`${t.baseUrl}/assets/../../package.json`)).status, 404);
    const unknown = await fetch(`${t.baseUrl}/no-such-page`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('content-type') ?? '', /application\/json/);
  });

  it('creates a webhook trigger, shows its secret once, and its test delivery reaches a real receiver signed with it', async () => {
    const { page } = await open();
    await signInWithToken(page, acme);
    await page.getByRole('link', { name: 'Triggers' }).click();
    await page.getByRole('button', { name: 'New trigger' }).click();
    const form = page.getByRole('form', { name: 'New trigger' });
    await form.getByLabel('Description').fill('Finished exports to ops');
    await form.getByLabel('Webhook URL').fill(receiver.url);
    await form.getByRole('button', { name: 'Create trigger' }).click();
    const secret = await page.getByLabel('Webhook signing secret').inputValue();
    assert.match(secret, /^whsec_/);

    const before = receiver.received.length;
    await page.getByRole('button', { name: 'Test Finished exports to ops' }).click();
    await page.getByRole('list', { name: 'Test results of Finished exports to ops' }).getByText('WEBHOOK: delivered (204)').waitFor();
    const hook = await waitFor(() => receiver.received[before], 'the test webhook');
    verifyWithStandardWebhooks(secret, hook);
    await shot(page, 'triggers');

    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByLabel('Webhook signing secret').count(), 0, 'the secret is gone once dismissed');
    assertClean();
  });

  it('creates an API token (shown once), lists and revokes it', async () => {
    const { page } = await open();
    page.on('dialog', (dialog) => void dialog.accept());
    await signInWithPassword(page, acme);
    await page.getByRole('link', { name: 'API tokens' }).click();
    const form = page.getByRole('form', { name: 'Create an API token' });
    await form.getByLabel('Name').fill('ci-export');
    await form.getByRole('button', { name: 'Create token' }).click();
    const token = await page.getByLabel('New API token').inputValue();
    assert.match(token, /^tex_/);
    const me = await gql<{ me: { email: string } }>(t.baseUrl, '{ me { email } }', {}, token);
    assert.equal(me.data?.me.email, acme.email, 'the shown token works');
    await page.getByRole('button', { name: 'Revoke ci-export' }).waitFor();
    await shot(page, 'tokens');
    await page.getByRole('button', { name: 'Revoke ci-export' }).click();
    await page.getByRole('button', { name: 'Revoke ci-export' }).waitFor({ state: 'detached' });
    assertClean();
  });

  it('fits a phone-width screen without sideways scrolling of the page', async () => {
    const { page } = await open({ width: 390, height: 844 });
    await signInWithToken(page, acme);
    await page.getByRole('link', { name: 'Van' }).waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await shot(page, 'fleet-phone');
    assertClean();
  });

  it('rotates a device upload token and shows it once: the old token is refused at once, the new one uploads', async () => {
    const { page } = await open();
    page.on('dialog', (dialog) => void dialog.accept());
    await signInWithToken(page, acme);
    await page.getByRole('link', { name: 'Van' }).click();
    await page.getByRole('button', { name: 'Rotate upload token' }).click();
    const token = await page.getByLabel('New upload token').inputValue();
    assert.notEqual(token, van.uploadToken);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByLabel('New upload token').waitFor({ state: 'detached' });
    const batch = drive('2026-05-01T07:00:00Z', 5, 1);
    assert.equal((await upload(t.baseUrl, van, batch)).status, 401, 'the old token');
    assert.equal((await upload(t.baseUrl, van, batch, { token })).status, 200, 'the new token');
    van = { ...van, uploadToken: token };
    assertClean();
  });

  it('renames a device from its screen', async () => {
    const truck = await createDevice(t.db.orm, acme);
    const { page } = await open();
    await signInWithToken(page, acme);
    await page.getByRole('row').filter({ hasText: truck.unitId }).getByRole('link').first().click();
    const form = page.getByRole('form', { name: 'Rename device' });
    await form.getByLabel('Name').fill('Truck 9');
    await form.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Device Truck 9' }).waitFor();
    const listed = await gql<{ device: { name: string } }>(t.baseUrl, 'query ($id: ID!) { device(id: $id) { name } }', { id: truck.id }, acme.apiToken);
    assert.equal(listed.data?.device.name, 'Truck 9');
    assertClean();
  });

  afterEach(async () => {
    for (const w of watched) await w.context.close();
    watched = [];
  });
});

if (missing) console.log(`# ${missing}`);
