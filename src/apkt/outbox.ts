// The APKT outbox: records waiting for, or done with, delivery, in the store. A record
// is written as a Change in the transaction that records the call outcome that caused
// it (both or neither); delivery reads and settles through the store's outbox queries.
//
// Claims are durable and leased (src/store/port.ts OutboxQueries): a record handed to the
// dispatcher stays `pending` until its delivery is settled, so a process killed
// mid-delivery leaves it pending and it is sent again (at least once; the receiver
// deduplicates by Idempotency-Key = record id); its claim is dropped when a dispatcher
// starts (releaseAll: the next run of the instance, or an HA group's next active) or, at
// the latest, once the lease ran out.
import type { Change, OutboxEntry, OutboxQueries, OutboxResult, OutboxStats, OutboxStatus } from '../store/port.ts'
import type { ApktRecord } from './record.ts'

export { outboxStatuses } from '../store/port.ts'
export type { OutboxEntry, OutboxResult, OutboxStats, OutboxStatus } from '../store/port.ts'

export interface OutboxOptions {
  queries: OutboxQueries
  /** Writes a change: into the transaction being collected (an outcome's), else its own. */
  write: (change: Change) => Promise<void>
  /** Who claims (the instance id). */
  owner: string
  /** How long a claim holds against other dispatchers (longer than a delivery and its settling). */
  leaseMs: number
}

/** A delivery's result as the dispatcher hands it in: a claim given back is this outbox's owner's. */
export type DeliveryResult = Exclude<OutboxResult, { kind: 'released' }> | { id: string, kind: 'released' }

/** Statuses kept in memory for views (a call's record), most recent first out. */
const KNOWN_STATUSES = 5000

export class Outbox {
  /** record id -> when this process claimed it (ms) */
  private readonly claimed = new Map<string, number>()
  private readonly statuses = new Map<string, OutboxStatus>()

  constructor (private readonly options: OutboxOptions) {}

  /**
   * Writes a new pending record for `outcomeKey` (e.g. `${callId}:transfer`) into the
   * transaction being collected. The store keeps one record per outcome key: a second
   * one for the same outcome is not written.
   */
  add (record: ApktRecord, outcomeKey: string, now = new Date()): Promise<void> {
    if (outcomeKey === '') throw new TypeError('outcomeKey must not be empty')
    this.known(record.id, 'pending')
    return this.options.write({ kind: 'apktRecord', record, outcomeKey, at: now.toISOString() })
  }

  /** The record's status as this process last knew it (for views), without a store read. */
  knownStatus (id: string): OutboxStatus | undefined { return this.statuses.get(id) }

  /** Claims up to `limit` records to deliver now (see OutboxQueries.claimDue). */
  async claimDue (now: Date, limit: number): Promise<OutboxEntry[]> {
    if (limit <= 0) return []
    const rows = await this.options.queries.claimDue({ now, limit, owner: this.options.owner, leaseMs: this.options.leaseMs })
    for (const r of rows) this.claimed.set(r.id, now.getTime())
    return rows
  }

  /**
   * Records the results of deliveries and claims up to `limit` more, in one store call
   * (OutboxQueries.settleAndClaim). A result is settled only once this resolves; when it
   * rejects, nothing of it was written (the claims are still held, running out with
   * their lease unless given back).
   */
  async settleAndClaim (results: readonly DeliveryResult[], now: Date, limit: number): Promise<OutboxEntry[]> {
    const owner = this.options.owner
    const rows = await this.options.queries.settleAndClaim(
      results.map(r => r.kind === 'released' ? { ...r, owner } : r),
      limit > 0 ? { now, limit, owner, leaseMs: this.options.leaseMs } : undefined)
    for (const r of results) {
      this.claimed.delete(r.id)
      if (r.kind !== 'released') this.known(r.id, r.kind === 'failed' ? 'pending' : r.kind)
    }
    for (const r of rows) this.claimed.set(r.id, now.getTime())
    return rows
  }

  /**
   * Whether this process's claim on `id` still holds for `ms` after `now` (false when not
   * claimed here). At most half the lease is asked for, so a fresh claim always holds.
   */
  claimHolds (id: string, now: Date, ms: number): boolean {
    const at = this.claimed.get(id)
    return at !== undefined && at + this.options.leaseMs - now.getTime() >= Math.min(ms, this.options.leaseMs / 2)
  }

  /**
   * At the start of the service's dispatcher, the only one delivering (a single instance;
   * a group's active): every claim left is a dead run's, this instance's or a former
   * active's. Left to its lease, a former active's claim held the agent's records for up
   * to the claim lease (30 s) after a takeover.
   */
  async releaseAll (): Promise<void> { await this.options.queries.releaseAll() }

  /** Gives a claim back without recording an attempt (delivery abandoned at shutdown). */
  async release (id: string): Promise<void> {
    this.claimed.delete(id)
    await this.options.queries.release(id, this.options.owner)
  }

  get claimedCount (): number { return this.claimed.size }

  async markDelivered (id: string, at = new Date()): Promise<void> {
    await this.settle(id, 'delivered', this.options.queries.markDelivered(id, at))
  }

  async markFailed (id: string, error: string, nextAttemptAt: Date): Promise<void> {
    await this.settle(id, 'pending', this.options.queries.markFailed(id, error, nextAttemptAt))
  }

  /** `attempted: false` when it dies without a delivery attempt (too old to send). */
  async markDead (id: string, error: string, opts: { attempted?: boolean } = {}): Promise<void> {
    await this.settle(id, 'dead', this.options.queries.markDead(id, error, opts.attempted ?? true))
  }

  /** Dead -> pending, due now (OutboxError RECORD_NOT_FOUND / RECORD_NOT_DEAD otherwise). */
  async retry (id: string, now = new Date()): Promise<OutboxEntry> {
    const entry = await this.options.queries.retry(id, now)
    this.known(id, 'pending')
    return entry
  }

  async get (id: string): Promise<OutboxEntry | undefined> { return await this.options.queries.get(id) }

  /** Newest first. */
  async list (opts: { status?: OutboxStatus, limit?: number } = {}): Promise<OutboxEntry[]> { return await this.options.queries.list(opts) }

  /** Every record in creation order, read page by page (for exports of any size). */
  entries (opts: { status?: OutboxStatus } = {}): AsyncIterable<OutboxEntry> { return this.options.queries.entries(opts) }

  async stats (now = new Date()): Promise<OutboxStats> { return await this.options.queries.stats(now) }

  private async settle (id: string, status: OutboxStatus, write: Promise<void>): Promise<void> {
    try {
      await write
      this.known(id, status)
    } finally {
      this.claimed.delete(id)
    }
  }

  private known (id: string, status: OutboxStatus): void {
    this.statuses.delete(id)
    this.statuses.set(id, status)
    if (this.statuses.size > KNOWN_STATUSES) this.statuses.delete(this.statuses.keys().next().value as string)
  }
}
