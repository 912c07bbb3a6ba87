// When the store cannot take a write (disk full, read-only, I/O error) the service keeps
// running: HTTP requests that must persist answer 503 (http/errors.ts), and what comes
// from Asterisk meanwhile cannot be recorded. The guard notes such a failure, logs it
// once per outage (not once per AMI event), probes the store until it takes writes
// again, then heals: it writes what was kept aside and resyncs the call picture from
// Asterisk, so calls that began or ended meanwhile are known again, and their ACW and
// APKT records happen late rather than never.
import type { Log } from '../log.ts'

export interface StoreGuardOptions {
  /** Throws while the store cannot take a write (Store.check). */
  check: () => void
  /** Whether an error means "the store cannot take a write now" (the engine knows its codes). */
  isUnavailable: (err: unknown) => boolean
  /** Runs once the store is writable again. */
  heal: () => Promise<void>
  log: Log
  probeMs?: number
}

export class StoreGuard {
  private failing = false
  private lost = 0
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor (private readonly options: StoreGuardOptions) {}

  /** Runs `fn`; a store failure is logged and healed later, any other error is rethrown. */
  run (what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      if (!this.report(err, what)) throw err
    }
  }

  /** Notes a failure; false when it is not a store failure (the caller handles it). */
  report (err: unknown, what: string): boolean {
    if (!this.options.isUnavailable(err)) return false
    this.lost++
    const e = err as Error & { code: string }
    if (!this.failing) {
      this.failing = true
      this.options.log.error({ err: { code: e.code, message: e.message }, what }, 'store unavailable: changes from Asterisk are not recorded; the call picture is resynced once it is writable again')
      this.schedule()
    } else {
      this.options.log.debug({ err: { code: e.code }, what, lost: this.lost }, 'store still unavailable')
    }
    return true
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => { void this.probe() }, this.options.probeMs ?? 1000)
    this.timer.unref()
  }

  private async probe (): Promise<void> {
    if (this.stopped) return
    try {
      this.options.check()
    } catch {
      this.schedule()
      return
    }
    const lost = this.lost
    this.failing = false
    this.lost = 0
    this.options.log.info({ lost }, 'store writable again: recording what was kept aside and resyncing from Asterisk')
    try {
      await this.options.heal()
    } catch (err) {
      if (!this.report(err, 'heal')) this.options.log.error({ err }, 'healing after the store outage failed')
    }
  }
}
