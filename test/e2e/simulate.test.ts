import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from '../support/http.js';
import { startCli, type CliResult } from '../support/cli.js';
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
});
