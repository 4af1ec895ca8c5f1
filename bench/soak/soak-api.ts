/**
 * What the soak asks the service, through its public API only, on whichever instance answers:
 * a call that meets a killed instance or a stopped database is retried on the next one.
 */
import { randomInt } from 'node:crypto';

import { ApiClient, ApiError } from '../../src/sim/api-client.js';
import { createDevice, type SimDevice } from '../../src/sim/fleet-setup.js';
import { retrying, type RetryPolicy } from '../../src/sim/retry.js';

export interface SoakTask {
  readonly id: string;
  readonly state: 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE';
  readonly dueAt: string | null;
  readonly attempts: number;
  readonly error: string | null;
  readonly result: { readonly sha256: string; readonly records: number; readonly downloadPath: string } | null;
}

export interface SoakTrip {
  readonly id: string;
  readonly endTimeUtc: string | null;
  readonly device: { readonly id: string };
  readonly task: SoakTask | null;
}

const CREATE_TRIGGER = `mutation SoakTrigger($input: CreateTriggerInput!) {
  createTrigger(input: $input) { webhookSecret trigger { id } }
}`;
const TRIPS = `query SoakTrips($after: String) {
  trips(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id endTimeUtc device { id } task { id state dueAt attempts error result { sha256 records downloadPath } } } }
  }
}`;
interface TripsPage {
  readonly trips: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: SoakTrip }[] };
}

/** The soak's devices keep trips apart by this much at most; the export waits for it. */
const REOPEN_LIMIT_SECONDS = 2;

export class SoakApi {
  private next = 0;
  private readonly clients: ApiClient[];

  constructor(
    baseUrls: readonly string[],
    token: string,
    private readonly policy: RetryPolicy,
  ) {
    this.clients = baseUrls.map((url) => new ApiClient(url, token));
  }

  /** Runs `call` against the next instance, and again on the next one while it fails for a passing reason. */
  run<T>(call: (client: ApiClient) => Promise<T>): Promise<T> {
    return retrying(() => call(this.clients[this.next++ % this.clients.length]!), this.policy, {
      retryable: (error) => error instanceof ApiError && error.transient,
    });
  }

  /** A SIGNAL trigger on trip_export_finished with a webhook to `url`; answers its `whsec_` secret. */
  async createWebhookTrigger(url: string): Promise<string> {
    const input = { description: 'soak receiver', type: 'SIGNAL', signal: 'trip_export_finished', webhook: { url } };
    const created = await this.run((c) => c.graphql<{ createTrigger: { webhookSecret: string } }>(CREATE_TRIGGER, { input }));
    return created.createTrigger.webhookSecret;
  }

  createDevices(count: number): Promise<SimDevice[]> {
    const settings = { autoExport: true, reopenLimitSeconds: REOPEN_LIMIT_SECONDS };
    return Promise.all(Array.from({ length: count }, (_, i) => this.run((c) => createDevice(c, `soak ${i + 1}`, randomInt(1, 2 ** 31), settings))));
  }

  /** Every trip of the customer with its export task. */
  async trips(): Promise<SoakTrip[]> {
    const trips: SoakTrip[] = [];
    for (let after: string | null = null; ;) {
      const page: TripsPage = await this.run((c) => c.graphql<TripsPage>(TRIPS, { after }));
      trips.push(...page.trips.edges.map((e) => e.node));
      if (!page.trips.pageInfo.hasNextPage) return trips;
      after = page.trips.pageInfo.endCursor;
    }
  }

  async download(path: string): Promise<Buffer> {
    return (await this.run((c) => c.download(path))).bytes;
  }
}
