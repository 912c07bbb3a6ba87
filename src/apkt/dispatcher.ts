// Delivers the outbox to APKT (CONTRACT.md section 5): POST each record with the
// bearer token and Idempotency-Key = record id, a few at a time, oldest first per
// agent. 2xx = delivered; 4xx other than 408/429 = dead at once (the receiver will
// refuse it again, so retrying only hides it); anything else = retry later with
// capped exponential back-off and jitter. A record older than maxAgeMs goes dead
// rather than retrying for ever, kept for a supervisor to retry.
//
// At least once: a record is marked delivered only after the 2xx, so a crash between
// the receiver's commit and ours sends it again with the same Idempotency-Key.
import { backoffDelay } from '../backoff.ts'
import { Agent, request } from 'undici'
import { silentLog, type Log } from '../log.ts'
import type { Outbox, OutboxEntry } from './outbox.ts'
import type { ApktRecord } from './record.ts'

export interface DispatcherOptions {
  outbox: Outbox
  url: string
  token: string
  /** Whole request, connect to last body byte. */
  timeoutMs: number
  concurrency?: number
  maxAgeMs?: number
  /** How often the outbox is looked at without a kick(): records written by others, retries due. */
  pollMs?: number
  backoff?: { initialMs?: number, maxMs?: number }
  log?: Log
  random?: () => number
  now?: () => Date
  /** Told after a record's state changed (delivered, dead, retry scheduled), e.g. for the live feed. */
  onSettled?: (id: string) => void
  /**
   * Asked before each claim and each delivery: no means nothing is claimed or sent (an HA
   * group's instance that may not act now; what it claimed is given back). Absent: always yes.
   */
  mayAct?: () => boolean
}

type Outcome =
  | { kind: 'delivered', status: number }
  | { kind: 'dead', detail: string }
  | { kind: 'retry', detail: string, retryAfterMs?: number }
  | { kind: 'aborted' }

export const dispatcherDefaults = {
  concurrency: 4,
  maxAgeMs: 24 * 60 * 60 * 1000,
  pollMs: 1000,
  backoff: { initialMs: 1000, maxMs: 5 * 60 * 1000 }
} as const

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
function retryAfterMs (header: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(header) ? header[0] : header
  if (v === undefined || v.trim() === '') return undefined
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

const brief = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 200)

export class Dispatcher {
  private readonly outbox: Outbox
  private readonly log: Log
  private readonly concurrency: number
  private readonly maxAgeMs: number
  private readonly pollMs: number
  private readonly initialMs: number
  private readonly maxMs: number
  private readonly random: () => number
  private readonly now: () => Date
  private running = false
  /** a claim is being read: one at a time, so two ticks never claim past the concurrency */
  private claiming = false
  /** woken while claiming: look again right after */
  private again = false
  private timer: NodeJS.Timeout | undefined
  private timerAt = 0
  private readonly inFlight = new Map<string, Promise<void>>()
  private stopping = new AbortController()
  private agent: Agent | undefined

  constructor (private readonly opts: DispatcherOptions) {
    this.outbox = opts.outbox
    this.log = opts.log ?? silentLog
    this.concurrency = opts.concurrency ?? dispatcherDefaults.concurrency
    this.maxAgeMs = opts.maxAgeMs ?? dispatcherDefaults.maxAgeMs
    this.pollMs = opts.pollMs ?? dispatcherDefaults.pollMs
    this.initialMs = opts.backoff?.initialMs ?? dispatcherDefaults.backoff.initialMs
    this.maxMs = opts.backoff?.maxMs ?? dispatcherDefaults.backoff.maxMs
    this.random = opts.random ?? Math.random
    this.now = opts.now ?? (() => new Date())
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError('concurrency must be an integer >= 1')
  }

  get inFlightCount (): number { return this.inFlight.size - (this.inFlight.has('(claim)') ? 1 : 0) }

  /** Begins delivering; what a previous process left pending is picked up at once. */
  start (): void {
    if (this.running) return
    this.running = true
    // Claims a previous run of this instance left (killed mid-delivery) are ours to drop.
    this.claiming = true
    const released = this.outbox.releaseAll().catch((err: unknown) => { this.log.error({ err }, 'APKT outbox: cannot drop old claims; they run out with their lease') })
    this.inFlight.set('(claim)', released)
    void released.finally(() => {
      this.inFlight.delete('(claim)')
      this.claiming = false
      this.wake(0)
    })
    this.stopping = new AbortController()
    // Our own pool, sized to the concurrency, so stop() can close exactly our sockets.
    this.agent = new Agent({ connections: this.concurrency, keepAliveTimeout: 4000 })
    this.wake(0)
  }

  /** Look at the outbox now (after adding a record) instead of at the next poll. */
  kick (): void { this.wake(0) }

  /**
   * Stops taking records and waits up to `timeoutMs` for deliveries in flight; those
   * still running then are aborted and stay pending (sent again after a restart).
   * Nothing touches the store after this resolves.
   */
  async stop (timeoutMs = 10_000): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    const settled = Promise.allSettled([...this.inFlight.values()])
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(true), timeoutMs) })
    ])
    clearTimeout(timer)
    if (timedOut) {
      this.log.warn({ inFlight: this.inFlight.size }, 'APKT deliveries still running at shutdown; aborted, they stay pending')
      this.stopping.abort()
      await settled
    }
    const agent = this.agent
    this.agent = undefined
    await (timedOut ? agent?.destroy() : agent?.close())
  }

  private wake (delayMs: number): void {
    if (!this.running) return
    const at = Date.now() + delayMs
    if (this.timer !== undefined && this.timerAt <= at) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => { this.timer = undefined; this.tick() }, delayMs)
  }

  private tick (): void {
    if (!this.running) return
    if (this.claiming) { this.again = true; return }
    if (this.opts.mayAct?.() === false) { this.wake(this.pollMs); return }
    this.claiming = true
    this.again = false
    const claimed = this.claim()
    this.inFlight.set('(claim)', claimed) // stop() waits for it: nothing touches the store afterwards
    void claimed.finally(() => {
      this.inFlight.delete('(claim)')
      this.claiming = false
      this.wake(this.again ? 0 : this.pollMs)
    })
  }

  private async claim (): Promise<void> {
    try {
      // Counted before this claim's own '(claim)' entry is in the map (tick() adds it once
      // claim() returned its promise): count deliveries only, whatever the map holds.
      const free = this.concurrency - this.inFlightCount
      for (const entry of await this.outbox.claimDue(this.now(), free)) {
        if (!this.running) { await this.outbox.release(entry.id); continue }
        this.begin(entry)
      }
    } catch (err) {
      // The store is the source of truth; if it cannot be read now, the next poll tries again.
      this.log.error({ err }, 'APKT outbox: cannot claim records')
    }
  }

  private begin (entry: OutboxEntry): void {
    if (this.opts.mayAct?.() === false) {
      // The claim was taken while this instance could act; it may not any more: the record is the next active's.
      const released = this.outbox.release(entry.id).catch(() => {})
      this.inFlight.set(entry.id, released.finally(() => this.inFlight.delete(entry.id)))
      return
    }
    const age = this.now().getTime() - Date.parse(entry.createdAt)
    if (age > this.maxAgeMs) {
      const reason = `expired: not delivered within ${this.maxAgeMs} ms of ${entry.createdAt} after ${entry.attempts} attempt(s)${entry.lastError !== null ? `; last error: ${entry.lastError}` : ''}`
      const settled = this.settle(entry, async () => { await this.outbox.markDead(entry.id, reason, { attempted: false }) })
      this.inFlight.set(entry.id, settled.finally(() => this.inFlight.delete(entry.id)))
      this.log.warn({ id: entry.id, callId: entry.callId, agentId: entry.agentId, attempts: entry.attempts }, 'APKT record expired; dead until a supervisor retries it')
      this.wake(0)
      return
    }
    const done = this.deliver(entry).finally(() => {
      this.inFlight.delete(entry.id)
      this.wake(0) // the agent's next record, or a free slot for another agent
    })
    this.inFlight.set(entry.id, done)
  }

  private async deliver (entry: OutboxEntry): Promise<void> {
    const outcome = await this.post(entry.record)
    const ctx = { id: entry.id, callId: entry.callId, agentId: entry.agentId, attempt: entry.attempts + 1 }
    switch (outcome.kind) {
      case 'delivered':
        await this.settle(entry, async () => { await this.outbox.markDelivered(entry.id, this.now()) })
        this.log.info({ ...ctx, status: outcome.status }, 'APKT record delivered')
        return
      case 'dead':
        await this.settle(entry, async () => { await this.outbox.markDead(entry.id, outcome.detail) })
        this.log.warn({ ...ctx, error: outcome.detail }, 'APKT refused the record; dead until a supervisor retries it')
        return
      case 'retry': {
        const delay = Math.min(this.maxMs, Math.max(backoffDelay(ctx.attempt, this.initialMs, this.maxMs, this.random), outcome.retryAfterMs ?? 0))
        await this.settle(entry, async () => { await this.outbox.markFailed(entry.id, outcome.detail, new Date(this.now().getTime() + delay)) })
        this.log.warn({ ...ctx, error: outcome.detail, retryInMs: delay }, 'APKT delivery failed; will retry')
        this.wake(delay)
        return
      }
      case 'aborted':
        await this.outbox.release(entry.id).catch(() => {}) // a claim left behind is dropped at the next start
    }
  }

  /**
   * Records the result; if the store cannot, the claim is given back (or runs out) so a
   * later poll tries again: at least once, the receiver deduplicates.
   */
  private async settle (entry: OutboxEntry, write: () => Promise<void>): Promise<void> {
    try {
      await write()
    } catch (err) {
      await this.outbox.release(entry.id).catch(() => {})
      this.log.error({ err, id: entry.id }, 'APKT outbox: cannot record the delivery result')
      return
    }
    this.opts.onSettled?.(entry.id)
  }

  private async post (record: ApktRecord): Promise<Outcome> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs)
    try {
      const res = await request(this.opts.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${this.opts.token}`,
          'idempotency-key': record.id
        },
        body: JSON.stringify(record),
        signal: AbortSignal.any([timeout, this.stopping.signal]),
        ...(this.agent !== undefined ? { dispatcher: this.agent } : {})
      })
      const status = res.statusCode
      if (status >= 200 && status < 300) {
        await res.body.dump().catch(() => undefined) // the answer is the status; the body is not ours to keep
        return { kind: 'delivered', status }
      }
      const text = brief(await res.body.text().catch(() => ''))
      const detail = `HTTP ${status}${text !== '' ? `: ${text}` : ''}`
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'dead', detail }
      const after = retryAfterMs(res.headers['retry-after'], Date.now())
      return { kind: 'retry', detail, ...(after !== undefined ? { retryAfterMs: after } : {}) }
    } catch (err) {
      if (this.stopping.signal.aborted) return { kind: 'aborted' }
      if (timeout.aborted) return { kind: 'retry', detail: `no answer within ${this.opts.timeoutMs} ms` }
      const e = err as Error & { code?: string, cause?: { code?: string, message?: string } }
      const code = e.cause?.code ?? e.code
      return { kind: 'retry', detail: `network error: ${code !== undefined ? `${code} ` : ''}${e.cause?.message ?? e.message}` }
    }
  }
}
