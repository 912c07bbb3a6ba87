// Reconnect delays: exponential, capped, with "equal jitter" (half fixed, half random)
// so a fleet of services does not reconnect to a restarted Asterisk in lock step.
// Ten lines; the retry libraries wrap a promise-returning call, which a long-lived
// connection with its own state machine is not.
export interface BackoffOptions { initialMs: number, maxMs: number, random?: () => number }

export class Backoff {
  private attempt = 0
  constructor (private readonly opts: BackoffOptions) {}

  next (): number {
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30))
    this.attempt++
    const r = (this.opts.random ?? Math.random)()
    return Math.round(ceiling / 2 + r * ceiling / 2)
  }

  reset (): void { this.attempt = 0 }

  get attempts (): number { return this.attempt }
}
