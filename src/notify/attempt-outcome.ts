/** What one try at sending produced; stored as a DeliveryAttempt and drives the retry schedule. */
export interface AttemptOutcome {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly succeeded: boolean;
  /** HTTP status or SMTP reply code, when one arrived. */
  readonly statusCode?: number | null;
  readonly error?: string | null;
  /** The start of the answer, for people reading the attempt log. */
  readonly response?: string | null;
  /** The receiver said the endpoint is gone for good (HTTP 410): disable the trigger. */
  readonly gone?: boolean;
  /** Retrying cannot help (for example no SMTP server is configured): fail now. */
  readonly permanent?: boolean;
}

export const RESPONSE_EXCERPT_CHARS = 1024;
