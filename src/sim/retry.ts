import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** First wait after a failure, milliseconds; it doubles up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Stop trying once this much time has passed since the first attempt. */
  readonly giveUpAfterMs: number;
}

export interface RetryHooks {
  /** Whether an error is worth another attempt (default: every error). */
  readonly retryable?: (error: unknown) => boolean;
  /** Told before each wait: the error, the attempt that failed (1-based) and the wait. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds, waiting longer after each failure (exponential backoff
 * with jitter, so a fleet that failed together does not retry in step). Bounded by time: the
 * last error is thrown once `giveUpAfterMs` has passed.
 */
export async function retrying<T>(attempt: () => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<T> {
  const started = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1)) * (0.5 + Math.random() / 2);
      if (!(hooks.retryable?.(error) ?? true) || Date.now() - started + delay > policy.giveUpAfterMs) throw error;
      hooks.onRetry?.(error, n, delay);
      await sleep(delay);
    }
  }
}
