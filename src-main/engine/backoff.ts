// Retries everywhere in the engine (parts, jobs, owed work) back off the same way: exponential, with jitter.

export interface RetryPolicy {
  /** First back-off; each further attempt doubles it (with jitter) up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts of one part before its job counts as failed. */
  partAttempts: number;
  /** Failures of a job with a retryable error before it stays failed. */
  jobAttempts: number;
  /** Source changes tolerated (restarting the upload each time) before `source.changed` fails the job. */
  sourceRestarts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 60_000, partAttempts: 6, jobAttempts: 4, sourceRestarts: 3 };

export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  // Equal jitter: never less than half the ceiling, so retries spread without bunching at zero.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
