import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createLocalCustomer } from '../../src/cli/local-customer.js';
import { ApiClient } from '../../src/sim/api-client.js';
import type { SimRecord } from '../../src/sim/fleet-data.js';
import { createDevice } from '../../src/sim/fleet-setup.js';
import { simulateFleet } from '../../src/sim/fleet-simulator.js';
import { type CliResult, startCli } from '../support/cli.js';
import { request } from '../support/http.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../support/process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-db.js';

interface Summary {
  records: number;
  stored: number;
  batches: number;
  duplicates: number;
  retries: number;
  setupRetries: number;
  failedBatches: number;
  tripsEnded: number;
  devices: string[];
}
interface TripsPage {
  count: number;
  results: { state: string; distance_km: number }[];
}

/** The `--json` line and the API token of the customer the simulator created. */
function resultOf(run: CliResult, output: string): { summary: Summary; token: string } {
  assert.equal(run.code, 0, output);
  const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as Summary;
  const token = /API token (tex_\S+)\)/.exec(run.stdout)?.[1];
  assert.ok(token, output);
  return { summary, token };
}

describe('npm run simulate', () => {
  let db: TestDatabase;
  let url: string;
  let port: number;
  const services: ServiceProcess[] = [];
  const serve = async () => {
    const service = await startServiceProcess({ DATABASE_URL: db.url, PORT: String(port), LOG_LEVEL: 'warn' });
    services.push(service);
    return service;
  };

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    for (const service of services) await service.stop();
    await db.drop();
  });

  /** Every record the simulator had acknowledged is in the database, and every drive is a completed trip. */
  async function assertArrived(summary: Summary, token: string): Promise<void> {
    assert.equal(summary.failedBatches, 0);
    assert.equal(summary.devices.length, 3);
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM records WHERE device_id = ANY($1)', [summary.devices]);
    assert.equal(Number(rows[0]!.n), summary.stored);
    assert.ok(summary.stored > 0);
    let trips = 0;
    for (const device of summary.devices) {
      const page = await request<TripsPage>(url, 'GET', `/logbook/trips/?device=${device}`, { token });
      assert.equal(page.status, 200);
      assert.ok(page.body.count >= 1, `device ${device} has no trip`);
      for (const trip of page.body.results) assert.equal(trip.state, 'completed');
      trips += page.body.count;
    }
    assert.equal(trips, summary.tripsEnded);
  }

  it('waits for a service that is not listening yet, then uploads a fleet whose records all arrive', async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const sim = startCli('simulate', ['--url', url, '--devices', '3', '--minutes', '3', '--hz', '10', '--json', '--give-up', '60'], { DATABASE_URL: db.url });
    // Nothing listens yet: the first attempts fail and are retried.
    await sim.waitFor(/retrying: .*ECONNREFUSED/);
    await serve();
    const { summary, token } = resultOf(await sim.exited, sim.output());
    assert.ok(summary.setupRetries >= 1);
    assert.equal(summary.duplicates, 0);
    assert.equal(summary.stored, summary.records);
    await assertArrived(summary, token);
  });

  it('retries uploads while the service restarts, and loses nothing', async () => {
    const first = services.pop() ?? (await serve());
    // Real time: the first upload is due an interval after the devices exist, time enough to stop the service.
    const sim = startCli('simulate', ['--url', url, '--devices', '3', '--minutes', '0.25', '--hz', '5', '--interval', '3', '--realtime', '--late-fraction', '0', '--json'], {
      DATABASE_URL: db.url,
    });
    await sim.waitFor(/devices ready/);
    await first.stop();
    await sim.waitFor(/retrying upload of sim \d+: /, 90_000);
    await serve();
    const { summary, token } = resultOf(await sim.exited, sim.output());
    assert.ok(summary.retries >= 1);
    await assertArrived(summary, token);
  });

  it('spreads uploads over several instances, and once stopped lets every device finish its trip', async () => {
    // The service of the test before is the first instance (its earlier uploads are counted off below).
    const [first, second] = await Promise.all([services.at(-1) ?? serve(), startServiceProcess({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' })]);
    services.push(second);
    const storedBatches = async (service: ServiceProcess) => {
      const metrics = await (await fetch(`${service.baseUrl}/metrics`)).text();
      return { metrics, stored: Number(/^trip_export_upload_batches_total\{outcome="stored"\} (\d+)/m.exec(metrics)?.[1] ?? 0) };
    };
    const storedBefore = await Promise.all([first, second].map(async (service) => (await storedBatches(service)).stored));
    const { api_token: token } = await createLocalCustomer({ name: 'Two instances', email: 'two@sim.test', password: 'two-instances' }, { env: { DATABASE_URL: db.url } });
    const client = new ApiClient(first.baseUrl, token);
    const devices = await Promise.all([1, 2].map((i) => createDevice(client, `two ${i}`, i)));
    const stop = new AbortController();
    const last = new Map<string, SimRecord>();
    const stats = await simulateFleet({
      baseUrls: [first.baseUrl, second.baseUrl],
      devices,
      recordsPerSecond: 10,
      minutes: 120,
      realtime: false,
      lateFraction: 0,
      intervalSeconds: 5,
      maxBatch: 1000,
      parallel: 4,
      seed: 11,
      retry: { baseDelayMs: 200, maxDelayMs: 2000, giveUpAfterMs: 30_000 },
      signal: stop.signal,
      onUploaded: (device, records) => {
        last.set(device.id, records.at(-1)!);
        // Stopped a few batches in: both devices are in their first drive.
        if (last.size === devices.length) stop.abort();
      },
    });
    assert.equal(stats.failedBatches, 0);
    // Two hours of device time hold several drives each; stopped in the first, each device drives just that one.
    assert.equal(stats.tripsEnded, devices.length);
    for (const device of devices) {
      assert.equal(last.get(device.id)?.['@tag'], 'vehicle/engine/stopped', `${device.name} ends on engine off`);
      const page = await request<TripsPage>(second.baseUrl, 'GET', `/logbook/trips/?device=${device.id}`, { token });
      assert.deepEqual(
        page.body.results.map((t) => t.state),
        ['completed'],
      );
    }
    for (const [i, service] of [first, second].entries()) {
      const { metrics, stored } = await storedBatches(service);
      assert.ok(stored > storedBefore[i]!, `${service.baseUrl} got uploads (${storedBefore[i]} stored before):\n${metrics.slice(0, 500)}`);
    }
  });
});
