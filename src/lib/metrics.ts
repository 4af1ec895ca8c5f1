import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one app instance. A registry per instance (not prom-client's global
 * one), so several instances in one test process do not collide.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly recordsIngested = new Counter({ name: 'trip_export_records_ingested_total', help: 'Records stored from device uploads', registers: [this.registry] });
  readonly uploadBatches = new Counter({
    name: 'trip_export_upload_batches_total',
    help: 'Device upload batches by outcome (stored, duplicate, rejected)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly recordsCompacted = new Counter({
    name: 'trip_export_records_compacted_total',
    help: 'Records the compactor moved from rows into segments (new) or merged into existing segments (late)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly tripsStarted = new Counter({ name: 'trip_export_trips_started_total', help: 'Trips started', registers: [this.registry] });
  readonly tripsEnded = new Counter({ name: 'trip_export_trips_ended_total', help: 'Trip ends (first ends and ends after a reopen)', registers: [this.registry] });
  readonly exports = new Counter({
    name: 'trip_export_exports_total',
    help: 'Export runs by outcome (SUCCESS, RETRY: failed and due again, FAILURE: failed for good)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly exportDuration = new Histogram({
    name: 'trip_export_export_duration_seconds',
    help: 'Wall time of one export, from claim to renamed file',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly exportBytes = new Histogram({
    name: 'trip_export_export_size_bytes',
    help: 'Size of export files (gzip)',
    buckets: [1e3, 1e4, 1e5, 1e6, 1e7, 5e7, 1e8, 5e8],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'trip_export_deliveries_total',
    help: 'Announcement delivery attempts by channel (webhook, email) and outcome (success, failure)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly wsConnections = new Gauge({ name: 'trip_export_websocket_connections', help: 'Open graphql-ws connections', registers: [this.registry] });
  readonly subscriptions = new Gauge({ name: 'trip_export_subscriptions', help: 'Active GraphQL subscriptions', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'trip_export_' });
  }
}
