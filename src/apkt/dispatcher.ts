// Delivers the outbox to APKT (CONTRACT.md section 5): POST each record with the
// bearer token and Idempotency-Key = record id, a few at a time, oldest first per
// agent. 2xx = delivered; 4xx other than 408/429 = dead at once (the receiver will
// refuse it again, so retrying only hides it); anything else = retry later with
// capped exponential back-off and jitter. A record older than maxAgeMs goes dead
// rather than retrying for ever, kept for a supervisor to retry.
//
// At least once: a record is marked delivered only after the 2xx, so a crash between
// the receiver's commit and ours sends it again with the same Idempotency-Key.
//
// The store is paid per tick, not per record: the results that came back since the last
// tick and the next claims go in one store call (Outbox.settleAndClaim: one transaction,
// one durable commit), and a few records are claimed ahead of the free slots, so a slot
// that frees starts its next POST at once instead of waiting for the store. A POST costs
// well under a millisecond on a LAN; a durable commit costs one or more.
//
// In a backlog (claimed records waiting for a slot, enough to last) store calls are
// spaced settleGapMs apart: each then settles and claims more records in one commit, so
// a record costs the store less (its pages and its fsync shared by more), and the event
// loop makes fewer store round trips. Measured on 5,000 pending records, SQLite,
// concurrency 4, alternating 10 ms and 0 ms in one process (10 rounds each): median 5,931 vs
// 5,176 records/s; CPU per record, main thread ~88 vs ~104 us, store thread ~78 vs ~92 us.
// A record that arrives on a quiet outbox is still claimed at once.
import { backoffDelay } from '../backoff.ts'
import { deadline } from '../deadline.ts'
import { Agent, request } from 'undici'
import { silentLog, type Log } from '../log.ts'
import type { DeliveryResult, Outbox, OutboxEntry } from './outbox.ts'
import type { ApktRecord } from './record.ts'

export interface DispatcherOptions {
  outbox: Outbox
  url: string
  token: string
  /** Whole request, connect to last body byte. */
  timeoutMs: number
  concurrency?: number
  /**
   * Records claimed ahead of the slots, at most (default 64 x concurrency): as many as
   * the slots answer while the store records and claims, at the pace seen. A claim that
   * waited so long that its lease could run out before its delivery is settled is given
   * back instead of sent.
   */
  claimAhead?: number
  maxAgeMs?: number
  /** How often the outbox is looked at without a kick(): records written by others, retries due. */
  pollMs?: number
  /** Store calls at least this far apart while claimed records wait for a slot (default 10 ms). */
  settleGapMs?: number
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

/** A result on its way to the store, and what to do once it is recorded. */
interface Answered { entry: OutboxEntry, result: DeliveryResult, recorded?: () => void }

type Outcome =
  | { kind: 'delivered', status: number }
  | { kind: 'dead', detail: string }
  | { kind: 'retry', detail: string, retryAfterMs?: number }
  | { kind: 'aborted' }

export const dispatcherDefaults = {
  concurrency: 4,
  maxAgeMs: 24 * 60 * 60 * 1000,
  pollMs: 1000,
  settleGapMs: 10,
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

/** A moving average that follows a change within a few samples. */
const smooth = (avg: number | undefined, sample: number): number => avg === undefined ? sample : avg + (sample - avg) / 8

const brief = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 200)

export class Dispatcher {
  private readonly outbox: Outbox
  private readonly log: Log
  private readonly concurrency: number
  private readonly claimAhead: number
  /** how long a POST and a store call take, smoothed (ms): how far to claim ahead */
  private postMs: number | undefined
  private storeMs: number | undefined
  private readonly maxAgeMs: number
  private readonly pollMs: number
  private readonly settleGapMs: number
  /** when the last store call began (performance.now()) */
  private lastStoreCall = -Infinity
  private readonly initialMs: number
  private readonly maxMs: number
  private readonly random: () => number
  private readonly now: () => Date
  private running = false
  /** a store call (results, claim) is under way: one at a time, so two ticks never claim past the window() */
  private claiming = false
  /** woken while claiming: look again right after */
  private again = false
  private timer: NodeJS.Timeout | undefined
  private timerAt = 0
  private soon: NodeJS.Immediate | undefined
  /** deliveries going, by record id (and '(claim)': the store call under way) */
  private readonly inFlight = new Map<string, Promise<void>>()
  /** claimed, waiting for a free slot, oldest first */
  private readonly ready: OutboxEntry[] = []
  /** answered, waiting for the next store call to record them */
  private answered: Answered[] = []
  private stopping = new AbortController()
  /** each POST's own abort (its timeout, or stop()) */
  private readonly posting = new Set<AbortController>()
  private agent: Agent | undefined

  constructor (private readonly opts: DispatcherOptions) {
    this.outbox = opts.outbox
    this.log = opts.log ?? silentLog
    this.concurrency = opts.concurrency ?? dispatcherDefaults.concurrency
    this.claimAhead = opts.claimAhead ?? 64 * this.concurrency
    this.maxAgeMs = opts.maxAgeMs ?? dispatcherDefaults.maxAgeMs
    this.pollMs = opts.pollMs ?? dispatcherDefaults.pollMs
    this.settleGapMs = opts.settleGapMs ?? dispatcherDefaults.settleGapMs
    this.initialMs = opts.backoff?.initialMs ?? dispatcherDefaults.backoff.initialMs
    this.maxMs = opts.backoff?.maxMs ?? dispatcherDefaults.backoff.maxMs
    this.random = opts.random ?? Math.random
    this.now = opts.now ?? (() => new Date())
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new RangeError('concurrency must be an integer >= 1')
    if (!Number.isInteger(this.claimAhead) || this.claimAhead < 0) throw new RangeError('claimAhead must be an integer >= 0')
    if (!(this.settleGapMs >= 0)) throw new RangeError('settleGapMs must be >= 0')
  }

  get inFlightCount (): number { return this.inFlight.size - (this.inFlight.has('(claim)') ? 1 : 0) }

  /** Begins delivering; what a previous process left pending is picked up at once. */
  start (): void {
    if (this.running) return
    this.running = true
    // Claims a dead run left (killed mid-delivery: this instance's, or a former active's) are ours to drop.
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
    clearImmediate(this.soon)
    this.soon = undefined
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
      for (const post of this.posting) post.abort()
      await settled
    }
    // What is left: results not recorded yet, and claims never started (given back).
    for (const entry of this.ready.splice(0)) this.answered.push({ entry, result: { id: entry.id, kind: 'released' } })
    await this.record(this.answered.splice(0), 0)
    const agent = this.agent
    this.agent = undefined
    await (timedOut ? agent?.destroy() : agent?.close())
  }

  private wake (delayMs: number): void {
    if (!this.running) return
    if (delayMs <= 0) {
      // Not a 0 ms timer (clamped to 1 ms): a tick costs less than that.
      this.soon ??= setImmediate(() => { this.soon = undefined; this.tick() })
      return
    }
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
    const wait = this.backlogWait()
    if (wait > 0) { this.wake(wait); return }
    this.claiming = true
    this.again = false
    this.lastStoreCall = performance.now()
    const claimed = this.claim()
    this.inFlight.set('(claim)', claimed) // stop() waits for it: nothing touches the store afterwards
    void claimed.finally(() => {
      this.inFlight.delete('(claim)')
      this.claiming = false
      this.wake(this.again ? 0 : this.pollMs)
    })
  }

  private async claim (): Promise<void> {
    // Counted before this claim's own '(claim)' entry is in the map (tick() adds it once
    // claim() returned its promise): count deliveries only, whatever the map holds.
    const free = this.window() - this.inFlightCount - this.ready.length
    const answered = this.answered.splice(0)
    const began = performance.now()
    let claimed: OutboxEntry[]
    if (answered.length > 0) {
      claimed = await this.record(answered, free)
    } else {
      try {
        claimed = await this.outbox.claimDue(this.now(), free)
      } catch (err) {
        // The store is the source of truth; if it cannot be read now, the next poll tries again.
        this.log.error({ err }, 'APKT outbox: cannot claim records')
        return
      }
    }
    if (free > 0 || answered.length > 0) this.storeMs = smooth(this.storeMs, performance.now() - began)
    this.ready.push(...claimed)
    if (!this.running) return // stop() gives them back
    this.fill()
    // Claimed all it asked for: more may be due, and slots free up as they answer.
    if (claimed.length > 0 && claimed.length === free) this.again = true
  }

  /**
   * Records `answered` and claims up to `limit` more, in one store call. If the store
   * cannot, each claim is given back (or runs out) so a later poll tries again: at least
   * once, the receiver deduplicates.
   */
  private async record (answered: Answered[], limit: number): Promise<OutboxEntry[]> {
    if (answered.length === 0 && limit <= 0) return []
    let claimed: OutboxEntry[]
    try {
      claimed = await this.outbox.settleAndClaim(answered.map(a => a.result), this.now(), limit)
    } catch (err) {
      this.log.error({ err, ids: answered.map(a => a.entry.id) }, 'APKT outbox: cannot record the delivery results')
      await Promise.all(answered.map(async a => { await this.outbox.release(a.entry.id).catch(() => {}) }))
      return []
    }
    for (const a of answered) {
      if (a.result.kind === 'released') continue
      a.recorded?.()
      this.opts.onSettled?.(a.entry.id)
    }
    return claimed
  }

  /**
   * Records claimed and not yet settled, at most: the slots, and as many claims ahead of
   * them as the slots answer while one store call records what they answered and the
   * next claims, with the gap before it (so a slot never waits for the store), at most
   * claimAhead. A slow receiver keeps it near the slots: claims do not sit waiting for one.
   */
  private window (): number {
    if (this.postMs === undefined || this.storeMs === undefined) return this.concurrency
    return this.concurrency + Math.min(this.claimAhead, Math.ceil(2 * this.concurrency * (this.storeMs + this.settleGapMs) / Math.max(this.postMs, 0.1)))
  }

  /**
   * How long the next store call may wait (ms): until settleGapMs after the last one, as
   * long as the records claimed and waiting keep every slot busy until it has answered.
   */
  private backlogWait (): number {
    const gap = this.settleGapMs - (performance.now() - this.lastStoreCall)
    if (gap <= 0 || this.postMs === undefined || this.storeMs === undefined) return 0
    const lastsMs = this.ready.length * this.postMs / this.concurrency
    return lastsMs > gap + this.storeMs ? gap : 0
  }

  /** Starts what was claimed, as slots allow. */
  private fill (): void {
    while (this.running && this.inFlightCount < this.concurrency) {
      const entry = this.ready.shift()
      if (entry === undefined) return
      this.begin(entry)
    }
  }

  /** Hands a result to the next store call. */
  private answer (a: Answered): void {
    this.answered.push(a)
    this.wake(0)
  }

  private begin (entry: OutboxEntry): void {
    if (this.opts.mayAct?.() === false) {
      // The claim was taken while this instance could act; it may not any more: the record is the next active's.
      this.answer({ entry, result: { id: entry.id, kind: 'released' } })
      return
    }
    const now = this.now()
    // Its POST and settling must fit in what is left of the lease, or another
    // dispatcher could take the record meanwhile: given back, claimed again later.
    if (!this.outbox.claimHolds(entry.id, now, 2 * this.opts.timeoutMs)) {
      this.answer({ entry, result: { id: entry.id, kind: 'released' } })
      return
    }
    const age = now.getTime() - Date.parse(entry.createdAt)
    if (age > this.maxAgeMs) {
      const reason = `expired: not delivered within ${this.maxAgeMs} ms of ${entry.createdAt} after ${entry.attempts} attempt(s)${entry.lastError !== null ? `; last error: ${entry.lastError}` : ''}`
      this.answer({
        entry,
        result: { id: entry.id, kind: 'dead', error: reason, attempted: false },
        recorded: () => { this.log.warn({ id: entry.id, callId: entry.callId, agentId: entry.agentId, attempts: entry.attempts }, 'APKT record expired; dead until a supervisor retries it') }
      })
      return
    }
    const done = this.deliver(entry).finally(() => {
      this.inFlight.delete(entry.id)
      this.fill() // a free slot: the next claimed record at once
      this.wake(0) // its result recorded, the agent's next record claimed
    })
    this.inFlight.set(entry.id, done)
  }

  private async deliver (entry: OutboxEntry): Promise<void> {
    const began = performance.now()
    const outcome = await this.post(entry.record)
    if (outcome.kind !== 'aborted') this.postMs = smooth(this.postMs, performance.now() - began)
    const ctx = { id: entry.id, callId: entry.callId, agentId: entry.agentId, attempt: entry.attempts + 1 }
    const { id } = entry
    switch (outcome.kind) {
      case 'delivered':
        this.answer({ entry, result: { id, kind: 'delivered', at: this.now() }, recorded: () => { this.log.info({ ...ctx, status: outcome.status }, 'APKT record delivered') } })
        return
      case 'dead':
        this.answer({ entry, result: { id, kind: 'dead', error: outcome.detail, attempted: true }, recorded: () => { this.log.warn({ ...ctx, error: outcome.detail }, 'APKT refused the record; dead until a supervisor retries it') } })
        return
      case 'retry': {
        const delay = Math.min(this.maxMs, Math.max(backoffDelay(ctx.attempt, this.initialMs, this.maxMs, this.random), outcome.retryAfterMs ?? 0))
        this.answer({
          entry,
          result: { id, kind: 'failed', error: outcome.detail, nextAttemptAt: new Date(this.now().getTime() + delay) },
          recorded: () => {
            this.log.warn({ ...ctx, error: outcome.detail, retryInMs: delay }, 'APKT delivery failed; will retry')
            this.wake(delay)
          }
        })
        return
      }
      case 'aborted':
        // Given back by stop(); a claim left behind is dropped at the next start.
        this.answered.push({ entry, result: { id, kind: 'released' } })
    }
  }

  private async post (record: ApktRecord): Promise<Outcome> {
    // One controller and one timer per request, aborted by stop() through the set:
    // lighter than AbortSignal.timeout + AbortSignal.any (a composite signal per POST,
    // thousands a second) and no listener piling up on the long-lived stop signal. The
    // timer is a deadline: an answer that came in time, during a stall of ours, is read
    // first (a needless second POST otherwise).
    const abort = new AbortController()
    let timedOut = false
    const timer = deadline(this.opts.timeoutMs, () => { timedOut = true; abort.abort() })
    this.posting.add(abort) // stop() aborts them all
    try {
      const res = await request(this.opts.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${this.opts.token}`,
          'idempotency-key': record.id
        },
        body: JSON.stringify(record),
        signal: abort.signal,
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
      if (timedOut) return { kind: 'retry', detail: `no answer within ${this.opts.timeoutMs} ms` }
      const e = err as Error & { code?: string, cause?: { code?: string, message?: string } }
      const code = e.cause?.code ?? e.code
      return { kind: 'retry', detail: `network error: ${code !== undefined ? `${code} ` : ''}${e.cause?.message ?? e.message}` }
    } finally {
      timer.cancel()
      this.posting.delete(abort)
    }
  }
}
