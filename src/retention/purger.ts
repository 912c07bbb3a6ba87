// Retention's background job: one pass at start and one an hour, each deleting in
// small batches (one short transaction each) with a pause between them, so a purge of
// a million rows never holds the store, or this process's event loop, for long: the
// transfer button waits at most one batch (test/bench/purge.ts measures it).
// better-sqlite3 runs a batch on the event loop, so a batch's length is what a press
// may wait; rows cost different times per table and per machine (500 closed calls took
// 14 ms on the 2-core test machine, 100 took 2 ms), so the batch size adapts to keep
// each batch near `batchMs`, up to `batchSize` rows.
import type { Log } from '../log.ts'
import { cutoffFor, retentionTables, zeroCounts, type RetentionStore, type TableCounts } from './policy.ts'

export interface RetentionSettings {
  days: number
  /** most rows per batch (one transaction) */
  batchSize: number
  /** the time one batch should take, ms: the batch size adapts to it */
  batchMs: number
  /** pause between batches, ms */
  pauseMs: number
}

export interface PassReport {
  cutoff: string
  days: number
  dryRun: boolean
  /** deleted (or, in a dry run, to be deleted) per table */
  counts: TableCounts
  batches: number
  /** the longest batch, ms: how long one batch held the store */
  maxBatchMs: number
  ms: number
  /** false when stop() cut the pass short */
  complete: boolean
}

const HOUR_MS = 3_600_000
const FIRST_BATCH = 50
const MIN_BATCH = 10

/** Shrinks to fit the time budget when a batch ran long; grows gently when it ran well under. */
export function nextSize (size: number, tookMs: number, budgetMs: number, max: number): number {
  if (tookMs > budgetMs) return Math.min(max, Math.max(MIN_BATCH, Math.floor(size * budgetMs / tookMs)))
  if (tookMs < budgetMs / 2) return Math.min(max, Math.ceil(size * 1.25))
  return size
}

export class Retention {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<PassReport> | undefined
  private stopping = false
  private wake: (() => void) | undefined

  constructor (private readonly o: RetentionSettings & {
    store: RetentionStore
    log: Log
    now?: () => Date
    intervalMs?: number
  }) {}

  /** A pass now, then one every hour (a pass still running skips the next). */
  start (): void {
    this.stopping = false
    const tick = (): void => {
      if (this.running === undefined) void this.runPass().catch(() => {}) // logged in runPass
      this.timer = setTimeout(tick, this.o.intervalMs ?? HOUR_MS)
      this.timer.unref()
    }
    this.timer = setTimeout(tick, 0)
    this.timer.unref()
  }

  /** No new pass; a running one stops at its next pause. */
  async stop (): Promise<void> {
    this.stopping = true
    clearTimeout(this.timer)
    this.wake?.()
    await this.running?.catch(() => {})
  }

  get busy (): boolean { return this.running !== undefined }

  /** What a pass would delete now, deleting nothing. */
  async dryRun (): Promise<PassReport> {
    const t0 = performance.now()
    const cutoff = cutoffFor(this.o.days, (this.o.now ?? (() => new Date()))())
    const counts = zeroCounts()
    for (const table of retentionTables) counts[table] = await this.o.store.countOld(table, cutoff)
    return { cutoff, days: this.o.days, dryRun: true, counts, batches: 0, maxBatchMs: 0, ms: performance.now() - t0, complete: true }
  }

  /** One pass over every table; one log line at the end. */
  async runPass (): Promise<PassReport> {
    if (this.running !== undefined) return await this.running
    this.running = this.pass()
    try {
      return await this.running
    } finally {
      this.running = undefined
    }
  }

  private async pass (): Promise<PassReport> {
    const t0 = performance.now()
    const cutoff = cutoffFor(this.o.days, (this.o.now ?? (() => new Date()))())
    const report: PassReport = { cutoff, days: this.o.days, dryRun: false, counts: zeroCounts(), batches: 0, maxBatchMs: 0, ms: 0, complete: false }
    try {
      for (const table of retentionTables) {
        let after: string | undefined
        let size = Math.min(this.o.batchSize, FIRST_BATCH)
        do {
          if (this.stopping) return report
          const b0 = performance.now()
          const res = await this.o.store.deleteBatch(table, cutoff, size, after)
          const took = performance.now() - b0
          report.maxBatchMs = Math.max(report.maxBatchMs, took)
          size = nextSize(size, took, this.o.batchMs, this.o.batchSize)
          report.batches++
          report.counts[table] += res.deleted
          after = res.after
          if (after !== undefined) await this.pause()
        } while (after !== undefined)
      }
      report.complete = true
      return report
    } catch (err) {
      // The store refused (disk full, read-only): the next pass tries again.
      this.o.log.error({ err, cutoff, deleted: report.counts }, 'retention pass failed')
      throw err
    } finally {
      report.ms = Math.round(performance.now() - t0)
      report.maxBatchMs = Math.round(report.maxBatchMs * 100) / 100
      if (report.complete || this.stopping) {
        this.o.log.info({ days: report.days, cutoff, deleted: report.counts, batches: report.batches, maxBatchMs: report.maxBatchMs, ms: report.ms, complete: report.complete },
          `retention pass: deleted ${report.counts.calls} calls, ${report.counts.audit} audit entries, ${report.counts.apktDelivered} delivered APKT records, ${report.counts.reports} report rows older than ${report.days} days`)
      }
    }
  }

  private async pause (): Promise<void> {
    await new Promise<void>(resolve => {
      const t = setTimeout(() => { this.wake = undefined; resolve() }, this.o.pauseMs)
      this.wake = () => { clearTimeout(t); this.wake = undefined; resolve() }
    })
  }
}
