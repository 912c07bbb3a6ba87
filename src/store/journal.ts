// The service's one write path to the store. The active instance keeps the live picture
// (calls, ACW) in memory; every change to it is handed here as Changes and written in
// the order it was made. Why a journal in front of the engine rather than each feature
// awaiting its own transaction:
//
// - Order. A call's changes come from AMI events, the button and timers; they must land
//   in the order they were made, whatever the engine's commit latency. One queue, one
//   transaction at a time, never two in flight.
// - Group commit. While one transaction is committing, the batches handed in meanwhile
//   wait and go together into the next one: one fsync (SQLite) or one round trip set
//   (PostgreSQL) for many changes, so AMI ingest is not paced by the disk.
// - Atomic batches. What must commit together (an outcome, its APKT record, the ACW
//   deadline, the audit entry) is one batch: batch(fn) collects every write fn makes.
// - Nothing lost in an outage. While the store cannot take writes (disk full, database
//   restarting, connections refused, a frozen server timing out) the batches wait, in
//   order, and are retried until they commit: an AMI fact is recorded late rather than
//   never. Requests that need their change durable before they act (the transfer button)
//   refuse at once while the journal is in an outage (healthy === false), and wait for
//   their commit with a timeout otherwise.
//
// A batch that fails for another reason (a bug: a constraint, a bad value) is isolated
// by retrying its group one batch at a time; only that batch is rejected.
import { EventEmitter } from 'node:events'
import type { Log } from '../log.ts'
import type { Change, Store } from './port.ts'

interface Pending {
  changes: Change[]
  resolve: () => void
  reject: (err: unknown) => void
}

export interface JournalOptions {
  store: Pick<Store, 'commit' | 'isUnavailable'>
  log: Log
  /** First pause before retrying in an outage, doubling to maxRetryMs. */
  retryMs?: number
  maxRetryMs?: number
  /** Most changes in one transaction (a long outage's backlog is written in slices). */
  maxGroupChanges?: number
}

/**
 * Writers that do not wait for durability may drop the promise: a failure is logged here
 * (an outage is retried, a refused change is logged with its kinds), never an unhandled
 * rejection. Whoever awaits it still sees the error.
 */
function handled (p: Promise<void>): Promise<void> {
  p.catch(() => {})
  return p
}

export class JournalClosed extends Error {
  override readonly name = 'JournalClosed'
  readonly code = 'STORE_CLOSED'
  constructor () { super('the store is closed: the change was not recorded') }
}

export class Journal extends EventEmitter<{ outage: [err: unknown], recovered: [written: number] }> {
  private queue: Pending[] = []
  private open: Change[] | undefined
  /** The promise of the batch being collected, settled with its commit. */
  private openSettle: { promise: Promise<void>, resolve: () => void, reject: (err: unknown) => void } | undefined
  private running = false
  private scheduled = false
  private outage = false
  private lastOutageError: unknown
  private closed = false
  private retryDelay: number
  private retryTimer: NodeJS.Timeout | undefined
  /**
   * The last batch kept through the outage, fixed at the first commit that goes through
   * again: the journal is healthy once it is settled (a long backlog is written in
   * several slices; batches handed in after that commit do not hold recovery back).
   */
  private keptEnd: Pending | undefined
  /** Batches written since the outage began (for 'recovered'). */
  private keptWritten = 0

  constructor (private readonly options: JournalOptions) {
    super()
    this.retryDelay = options.retryMs ?? 200
  }

  /** False from a commit that failed for lack of a store until the backlog is written. */
  get healthy (): boolean { return !this.outage }

  /** The error of the outage's last failed commit (undefined while healthy): why the store is away. */
  get outageError (): unknown { return this.outage ? this.lastOutageError : undefined }

  /** Batches waiting to be written (for /v1/status and the outage log). */
  get backlog (): number { return this.queue.length }

  /**
   * Runs fn; every change it makes through add() is one batch, one transaction. Returns
   * fn's value and the batch's durability. Nested calls join the outer batch.
   */
  batch<T> (fn: () => T): { value: T, saved: Promise<void> } {
    if (this.open !== undefined) {
      // A nested fn that throws takes its changes with it, even when the outer fn
      // catches the error and goes on: nothing of a failed batch is written.
      const open = this.open
      const mark = open.length
      try {
        const value = fn()
        return { value, saved: this.promiseOfOpen() }
      } catch (err) {
        open.length = mark
        throw err
      }
    }
    this.open = []
    let value: T
    try {
      value = fn()
    } catch (err) {
      // fn failed: nothing of it is written (memory changes are fn's to undo). Whoever
      // holds the promise of an add() made inside hears so rather than waiting forever.
      const settle = this.openSettle
      this.open = undefined
      this.openSettle = undefined
      settle?.reject(err)
      throw err
    }
    const changes = this.open
    const settle = this.openSettle
    this.open = undefined
    this.openSettle = undefined
    const saved = this.enqueue(changes)
    if (settle !== undefined) saved.then(settle.resolve, settle.reject)
    return { value, saved }
  }

  /** Adds changes: to the batch being collected, else as a batch of their own. Resolves once durable. */
  add (...changes: Change[]): Promise<void> {
    if (this.open !== undefined) {
      this.open.push(...changes)
      return this.promiseOfOpen()
    }
    return this.enqueue(changes)
  }

  /** Resolves once every change handed in so far is durable. */
  flushed (): Promise<void> {
    if (this.queue.length === 0 && !this.running) return Promise.resolve()
    return this.enqueue([])
  }

  /** Writes what is queued (waiting at most `timeoutMs`), then refuses new changes. */
  async close (timeoutMs = 5000): Promise<void> {
    if (this.closed) return
    const drained = this.flushed().catch(() => {})
    let timer: NodeJS.Timeout | undefined
    await Promise.race([drained, new Promise<void>(resolve => { timer = setTimeout(resolve, timeoutMs) })])
    clearTimeout(timer)
    this.closed = true
    clearTimeout(this.retryTimer)
    this.refuse(this.queue.splice(0))
  }

  /** After close: what could not be written is refused (a retry would never come). */
  private refuse (left: Pending[]): void {
    if (left.length > 0) this.options.log.error({ batches: left.length }, 'store closed with changes not written: a resync from Asterisk at the next start repairs the call picture')
    for (const p of left) p.reject(new JournalClosed())
  }

  private promiseOfOpen (): Promise<void> {
    if (this.openSettle === undefined) {
      let resolve!: () => void
      let reject!: (err: unknown) => void
      const promise = handled(new Promise<void>((res, rej) => { resolve = res; reject = rej }))
      this.openSettle = { promise, resolve, reject }
    }
    return this.openSettle.promise
  }

  private enqueue (changes: Change[]): Promise<void> {
    const promise = this.closed
      ? Promise.reject(new JournalClosed())
      : new Promise<void>((resolve, reject) => {
        this.queue.push({ changes, resolve, reject })
        this.schedule()
      })
    return handled(promise)
  }

  /**
   * Starts writing at the end of this turn, not at once: what one turn changes (a route's
   * change and its audit entry, the events of one AMI chunk) goes in one transaction.
   */
  private schedule (): void {
    if (this.running || this.scheduled || this.retryTimer !== undefined) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      void this.run()
    })
  }

  /** One group at a time: everything queued, up to maxGroupChanges, in one transaction. */
  private async run (): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      while (this.queue.length > 0 && !this.closed) {
        const group = this.takeGroup()
        const changes = group.flatMap(p => p.changes)
        try {
          if (changes.length > 0) await this.options.store.commit(changes)
        } catch (err) {
          if (this.options.store.isUnavailable(err)) {
            // A commit that was in flight when close() gave up waiting.
            if (this.closed) { this.refuse(group); return }
            this.queue.unshift(...group) // keep the order: the group is retried first
            this.enterOutage(err)
            return
          }
          if (!await this.isolate(group)) return
          continue
        }
        this.settled(group)
      }
    } finally {
      this.running = false
    }
  }

  private takeGroup (): Pending[] {
    const max = this.options.maxGroupChanges ?? 5000
    let n = 0
    let i = 0
    for (const p of this.queue) {
      if (i > 0 && n + p.changes.length > max) break
      n += p.changes.length
      i++
    }
    return this.queue.splice(0, i)
  }

  /** A group failed for a reason other than the store being away: find the bad batch. False: an outage began. */
  private async isolate (group: Pending[]): Promise<boolean> {
    for (const [i, p] of group.entries()) {
      try {
        if (p.changes.length > 0) await this.options.store.commit(p.changes)
        this.settled([p], group.slice(i + 1))
      } catch (err) {
        if (this.options.store.isUnavailable(err)) {
          if (this.closed) { this.refuse(group.slice(i)); return false }
          this.queue.unshift(...group.slice(i))
          this.enterOutage(err)
          return false // the retry timer takes over
        }
        // FENCED (an HA group's instance that no longer holds the lease): refused on purpose, not a bug.
        if ((err as { code?: unknown }).code === 'FENCED') this.options.log.warn({ changes: p.changes.map(c => c.kind) }, 'a change not recorded: this instance no longer holds the HA lease (its successor acts now)')
        else this.options.log.error({ err, changes: p.changes.map(c => c.kind) }, 'a change the store refused (a bug): it is not recorded')
        p.reject(err)
        if (this.outage) this.progress([p], false, group.slice(i + 1))
      }
    }
    return true
  }

  /** `group` is durable; `rest` are the batches of its group still to be tried (isolate). */
  private settled (group: Pending[], rest: readonly Pending[] = []): void {
    for (const p of group) p.resolve()
    if (this.outage) this.progress(group, true, rest)
  }

  /** In an outage, the store answered for `done`: healthy again once the last kept batch is done. */
  private progress (done: Pending[], written: boolean, rest: readonly Pending[]): void {
    const end = (this.keptEnd ??= this.queue.at(-1) ?? rest.at(-1) ?? done.at(-1))
    const i = end === undefined ? done.length - 1 : done.indexOf(end)
    if (written) this.keptWritten += i === -1 ? done.length : i + 1
    if (i === -1) return
    this.outage = false
    this.keptEnd = undefined
    this.retryDelay = this.options.retryMs ?? 200
    const n = this.keptWritten
    this.keptWritten = 0
    this.options.log.info({ written: n }, 'store writable again: the changes kept aside are written')
    this.emit('recovered', n)
  }

  private enterOutage (err: unknown): void {
    this.lastOutageError = err
    if (!this.outage) {
      this.outage = true
      const e = err as { code?: string, message?: string }
      this.options.log.error({ err: { code: e.code, message: e.message }, backlog: this.queue.length },
        'store unavailable: changes are kept in order and written once it takes writes again')
      this.emit('outage', err)
    }
    // Failed again part-way through the backlog: where it ends is fixed anew next time.
    this.keptEnd = undefined
    const delay = this.retryDelay
    this.retryDelay = Math.min(delay * 2, this.options.maxRetryMs ?? 5000)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (!this.running) void this.run()
    }, delay)
    this.retryTimer.unref()
  }
}
