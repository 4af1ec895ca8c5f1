import type { FastifyBaseLogger } from 'fastify';

import type { Config } from '../../config/config.js';
import type { Database } from '../../db/database.js';
import type { DatabaseOutage } from '../../lib/database-outage.js';
import type { Metrics } from '../../lib/metrics.js';
import type { AttemptOutcome } from '../../notify/attempt-outcome.js';
import { listenForWork, type WorkListener } from '../../notify/work-listener.js';
import { type AnnouncementPubSub, DEVICE_EVENT, TRIP_EXPORT_FINISHED } from './announcement-topics.js';
import type { DeliveryChannels } from './delivery-channels.js';
import { claimDueDeliveries, type ClaimedDelivery, completeAttempt, msUntilNextDue } from './delivery-queue.js';
import { deviceEventMessageOf } from './device-event-render.js';
import { fanOutSignals, WORK_CHANNEL } from './fan-out.js';
import { messageOfSignal } from './rendered-announcement.js';

export interface DispatcherDeps {
  readonly config: Config;
  readonly db: Database;
  readonly channels: DeliveryChannels;
  readonly pubSub: AnnouncementPubSub;
  readonly log: FastifyBaseLogger;
  /** Takes database faults: the loop keeps retrying without an error line per poll. */
  readonly outage: Pick<DatabaseOutage, 'absorb'>;
  readonly metrics: Pick<Metrics, 'deliveries'>;
}

/** Extra time a claim is held beyond the send timeout before another instance may retry it. */
const LEASE_MARGIN_SECONDS = 30;

/**
 * The announcement loop, driven by the database rather than a job runner: it fans signals
 * out into deliveries (publishing each subscription event once), then claims due deliveries
 * and sends them, a few at a time. Several instances can run it side by side; the row locks
 * decide who does what. It wakes on NOTIFY (a signal or delivery was written), when a send
 * finishes, when the next retry falls due, or after JOB_POLL_MS at the latest.
 */
export class Dispatcher {
  private stopped = false;
  private nudged = false;
  private wake: () => void = () => undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private loopDone: Promise<void> | undefined;
  private listener: WorkListener | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  start(): void {
    const { db, log, outage } = this.deps;
    const lost = (error: unknown): void => {
      if (!outage.absorb(error)) log.warn({ err: error }, 'dispatcher lost its LISTEN connection; polling meanwhile');
    };
    this.listener = listenForWork(db.url, WORK_CHANNEL, () => this.nudge(), lost);
    this.loopDone = this.loop();
  }

  /** Look for work now rather than at the next poll. */
  nudge(): void {
    this.nudged = true;
    this.wake();
  }

  /** Stops claiming work and waits for the sends in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight]);
    await this.listener?.close();
  }

  private async loop(): Promise<void> {
    const { config, db } = this.deps;
    while (!this.stopped) {
      this.nudged = false;
      // Each step on its own: a signal that cannot be fanned out must not stop sending.
      const fannedOut = await this.step('fan-out', () => this.fanOut());
      const claimed = await this.step('claim', () => this.claimAndSend());
      if (fannedOut || claimed) continue;
      let waitMs = config.jobPollMs;
      // With every slot busy, a finishing send wakes the loop; polling meanwhile would only
      // find the same due rows again and again.
      if (this.inFlight.size < config.deliveryConcurrency) {
        const untilDue = await this.step('schedule', () => msUntilNextDue(db.orm.em.fork()));
        if (typeof untilDue === 'number') waitMs = Math.min(waitMs, untilDue + 5);
      }
      await this.sleep(waitMs);
    }
  }

  private async step<T>(name: string, run: () => Promise<T>): Promise<T | false> {
    try {
      return await run();
    } catch (error) {
      if (!this.deps.outage.absorb(error)) this.deps.log.error({ err: error }, `announcement dispatcher: ${name} failed; retrying`);
      return false;
    }
  }

  private async fanOut(): Promise<boolean> {
    const { messages, deviceEvents } = await fanOutSignals(this.deps.db.orm.em.fork());
    // After the commit, never before: a rolled-back fan-out must not have been announced.
    for (const message of messages) this.deps.pubSub.publish(TRIP_EXPORT_FINISHED, message.customerId, message);
    for (const message of deviceEvents) this.deps.pubSub.publish(DEVICE_EVENT, message.customerId, message);
    return messages.length > 0 || deviceEvents.length > 0;
  }

  private async claimAndSend(): Promise<boolean> {
    const { config, db } = this.deps;
    const free = config.deliveryConcurrency - this.inFlight.size;
    if (free <= 0) return false;
    const leaseSeconds = Math.ceil(config.webhookTimeoutMs / 1000) + LEASE_MARGIN_SECONDS;
    const claims = await claimDueDeliveries(db.orm.em.fork(), free, leaseSeconds);
    for (const claim of claims) {
      const task = this.send(claim).finally(() => {
        this.inFlight.delete(task);
        this.nudge();
      });
      this.inFlight.add(task);
    }
    return claims.length > 0;
  }

  private async send(claim: ClaimedDelivery): Promise<void> {
    const { config, db, channels, log, outage } = this.deps;
    const { delivery } = claim;
    try {
      const signal = delivery.signal.getEntity();
      const trigger = delivery.trigger.getEntity();
      const outcome: AttemptOutcome =
        signal.name === 'device_event'
          ? await channels.deliverDeviceEvent(delivery.channel, trigger, deviceEventMessageOf(signal), delivery.id)
          : await channels.deliver(delivery.channel, trigger, messageOfSignal(signal), delivery.id);
      this.deps.metrics.deliveries.inc({ channel: delivery.channel, outcome: outcome.succeeded ? 'success' : 'failure' });
      await completeAttempt(db.orm.em.fork(), claim, outcome, config.deliveryRetrySeconds);
    } catch (error) {
      // The claim stays SENDING; its lease runs out and the next claimant retries it.
      if (!outage.absorb(error)) log.error({ err: error, deliveryId: delivery.id }, 'recording a delivery attempt failed');
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.nudged || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = () => undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
