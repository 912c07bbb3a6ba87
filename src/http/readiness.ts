// Readiness, computed cheaply enough that a probe storm cannot hurt the service.
// The store check is a durable write (it proves the disk takes writes, which a read
// would not), so it runs at most once per maxAgeMs and never twice at once: requests
// in that window share the last result, requests during a refresh await the same one.
// The AMI state is a field in memory, read fresh every time (an outage shows at once).
// Both /readyz (names only) and GET /v1/status (details) read from here.
import type { AmiStatus } from '../ami/index.ts'

export interface Check { ok: boolean, detail: string }

export interface ReadinessResult {
  ami: Check
  store: Check & { checkedAt: string }
}

export interface ReadinessDeps {
  ami: { status: () => AmiStatus }
  /** Read on every refresh (not captured), so a replaced check is the one that runs. */
  store: { check: () => void | Promise<void> }
}

export class Readiness {
  private last: { at: number, store: ReadinessResult['store'] } | undefined
  private refreshing: Promise<ReadinessResult['store']> | undefined
  private readonly maxAgeMs: number
  private readonly now: () => number

  constructor (private readonly deps: ReadinessDeps, opts: { maxAgeMs?: number, now?: () => number } = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 1000
    this.now = opts.now ?? Date.now
  }

  async current (): Promise<ReadinessResult> {
    const store = await this.storeCheck()
    return { ami: amiCheck(this.deps.ami.status()), store }
  }

  private async storeCheck (): Promise<ReadinessResult['store']> {
    const last = this.last
    if (last !== undefined && this.now() - last.at < this.maxAgeMs) return last.store
    this.refreshing ??= this.refresh().finally(() => { this.refreshing = undefined })
    return await this.refreshing
  }

  private async refresh (): Promise<ReadinessResult['store']> {
    const startedAt = this.now()
    let store: ReadinessResult['store']
    try {
      await this.deps.store.check()
      store = { ok: true, detail: 'open', checkedAt: new Date().toISOString() }
    } catch (err) {
      store = { ok: false, detail: `store: ${(err as Error).message}`, checkedAt: new Date().toISOString() }
    }
    // Dated from the start: a slow check must not make the next one later still.
    this.last = { at: startedAt, store }
    return store
  }
}

function amiCheck (s: AmiStatus): Check {
  return s.state === 'connected'
    ? { ok: true, detail: `logged in since ${s.since}` }
    : { ok: false, detail: `AMI ${s.state}${s.lastError !== undefined ? `: ${s.lastError}` : ''}` }
}
