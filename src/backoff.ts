// Retry delays for the AMI reconnect and APKT deliveries: exponential, capped, with
// "equal jitter" (half fixed, half random) so many clients do not retry in lock step.
// A few lines; the retry libraries wrap a promise-returning call, which neither a
// long-lived connection nor an outbox row with its own next-attempt time is.

/** Delay before retry number `attempt` (1 = the first retry). */
export function backoffDelay (attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30))
  return Math.round(ceiling / 2 + random() * ceiling / 2)
}

export interface BackoffOptions { initialMs: number, maxMs: number, random?: () => number }

/** The same delays for a caller that counts its own attempts (reset on success). */
export class Backoff {
  private attempt = 0
  constructor (private readonly opts: BackoffOptions) {}

  next (): number { return backoffDelay(++this.attempt, this.opts.initialMs, this.opts.maxMs, this.opts.random) }

  reset (): void { this.attempt = 0 }

  get attempts (): number { return this.attempt }
}
