// The outbox's SQL on SQLite (the engine's internals: src/store/sqlite/engine.ts runs it
// in its transactions). Statements as the service used them before the store port;
// claims now live in the row (migration 10) and are the engine's, not this class's.
import type { Db } from '../sqlite.ts'
import { OutboxError } from '../../apkt/errors.ts'
import type { ApktRecord } from '../../apkt/record.ts'
import type { OutboxEntry, OutboxStats, OutboxStatus } from '../port.ts'

interface Row {
  seq: number
  id: string
  outcome_key: string
  agent_id: string
  call_id: string
  status: OutboxStatus
  attempts: number
  last_error: string | null
  next_attempt_at: string | null
  created_at: string
  delivered_at: string | null
  body: string
}

const toEntry = (r: Row): OutboxEntry => ({
  id: r.id,
  outcomeKey: r.outcome_key,
  agentId: r.agent_id,
  callId: r.call_id,
  status: r.status,
  attempts: r.attempts,
  lastError: r.last_error,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
  record: JSON.parse(r.body) as ApktRecord
})

// A receiver's error page can be large; the outbox keeps enough to diagnose.
const MAX_ERROR_CHARS = 500
const clip = (s: string): string => s.length > MAX_ERROR_CHARS ? `${s.slice(0, MAX_ERROR_CHARS)}…` : s

export class SqliteOutboxStatements {
  /** id -> agent id of records handed out by claimDue() and not yet settled. */
  private readonly claimed = new Map<string, string>()
  private readonly stmt

  constructor (private readonly db: Db) {
    this.stmt = {
      insert: db.prepare(`INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, next_attempt_at, created_at, body)
        VALUES (@id, @outcomeKey, @agentId, @callId, 'pending', 0, @now, @now, @body)
        ON CONFLICT (outcome_key) DO NOTHING`),
      byKey: db.prepare<[string], Row>('SELECT * FROM apkt_records WHERE outcome_key = ?'),
      byId: db.prepare<[string], Row>('SELECT * FROM apkt_records WHERE id = ?'),
      // The head of each agent's pending queue (its oldest pending record), if due
      // and if that agent has nothing in flight: per-agent creation order. This runs
      // after every delivery; INDEXED BY keeps the planner on the partial index, which
      // is already in (agent_id, seq) order, instead of sorting every pending row in a
      // temporary B-tree (3x faster with 5,000 pending; the cost grows with the backlog).
      due: db.prepare<[string, string, number], Row>(`SELECT r.* FROM apkt_records r
        JOIN (SELECT agent_id, MIN(seq) AS seq FROM apkt_records INDEXED BY apkt_records_pending_by_agent WHERE status = 'pending' GROUP BY agent_id) head ON head.seq = r.seq
        WHERE r.next_attempt_at <= ? AND r.agent_id NOT IN (SELECT value FROM json_each(?))
        ORDER BY r.seq LIMIT ?`),
      delivered: db.prepare(`UPDATE apkt_records SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL
        WHERE id = ? AND status = 'pending'`),
      failed: db.prepare(`UPDATE apkt_records SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
        WHERE id = ? AND status = 'pending'`),
      dead: db.prepare(`UPDATE apkt_records SET status = 'dead', attempts = attempts + ?, last_error = ?, next_attempt_at = NULL
        WHERE id = ? AND status = 'pending'`),
      requeue: db.prepare(`UPDATE apkt_records SET status = 'pending', next_attempt_at = ? WHERE id = ? AND status = 'dead'`),
      listAll: db.prepare<[number], Row>('SELECT * FROM apkt_records ORDER BY seq DESC LIMIT ?'),
      listBy: db.prepare<[OutboxStatus, number], Row>('SELECT * FROM apkt_records WHERE status = ? ORDER BY seq DESC LIMIT ?'),
      eachAll: db.prepare<[], Row>('SELECT * FROM apkt_records ORDER BY seq'),
      eachBy: db.prepare<[OutboxStatus], Row>('SELECT * FROM apkt_records WHERE status = ? ORDER BY seq'),
      // Kept by triggers (migration 6): reading them does not scan the records.
      counts: db.prepare<[], { status: OutboxStatus, n: number }>('SELECT status, n FROM apkt_counts'),
      oldestPending: db.prepare<[], { created_at: string }>(`SELECT created_at FROM apkt_records WHERE status = 'pending' ORDER BY seq LIMIT 1`)
    }
  }

  /**
   * Stores a new pending record for `outcomeKey` (e.g. `${callId}:transfer`). If that
   * outcome already has a record, nothing is written and the stored record is
   * returned: one outcome never yields two records.
   */
  add (record: ApktRecord, outcomeKey: string, now = new Date()): { record: ApktRecord, created: boolean } {
    if (outcomeKey === '') throw new TypeError('outcomeKey must not be empty')
    const info = this.stmt.insert.run({
      id: record.id,
      outcomeKey,
      agentId: record.agentId,
      callId: record.callId,
      now: now.toISOString(),
      body: JSON.stringify(record)
    })
    if (info.changes === 1) return { record, created: true }
    const existing = this.stmt.byKey.get(outcomeKey)
    if (existing === undefined) throw new Error(`outcome ${outcomeKey}: insert ignored but no record found`)
    return { record: toEntry(existing).record, created: false }
  }

  /**
   * Hands out up to `limit` records to deliver now: per agent, only its oldest
   * pending record, only when due, and only when none of that agent's records is
   * already claimed. The claim is released by markDelivered/markFailed/markDead/release.
   */
  claimDue (now: Date, limit: number): OutboxEntry[] {
    if (limit <= 0) return []
    const busyAgents = JSON.stringify([...new Set(this.claimed.values())])
    const rows = this.stmt.due.all(now.toISOString(), busyAgents, limit)
    for (const r of rows) this.claimed.set(r.id, r.agent_id)
    return rows.map(toEntry)
  }

  /** Gives a claim back without recording an attempt (delivery abandoned at shutdown). */
  release (id: string): void { this.claimed.delete(id) }

  get claimedCount (): number { return this.claimed.size }

  markDelivered (id: string, at = new Date()): void {
    this.settle(id, () => this.stmt.delivered.run(at.toISOString(), id))
  }

  markFailed (id: string, error: string, nextAttemptAt: Date): void {
    this.settle(id, () => this.stmt.failed.run(clip(error), nextAttemptAt.toISOString(), id))
  }

  /** `attempted: false` when it dies without a delivery attempt (too old to send). */
  markDead (id: string, error: string, opts: { attempted?: boolean } = {}): void {
    this.settle(id, () => this.stmt.dead.run((opts.attempted ?? true) ? 1 : 0, clip(error), id))
  }

  /** Dead -> pending, due now; attempts and the last error are kept as history. */
  retry (id: string, now = new Date()): OutboxEntry {
    return this.db.transaction(() => {
      const row = this.stmt.byId.get(id)
      if (row === undefined) throw new OutboxError('RECORD_NOT_FOUND', `no APKT record ${id}`)
      if (row.status !== 'dead') throw new OutboxError('RECORD_NOT_DEAD', `APKT record ${id} is ${row.status}; only a dead record can be retried`)
      this.stmt.requeue.run(now.toISOString(), id)
      return toEntry({ ...row, status: 'pending', next_attempt_at: now.toISOString() })
    }).immediate()
  }

  get (id: string): OutboxEntry | undefined {
    const row = this.stmt.byId.get(id)
    return row === undefined ? undefined : toEntry(row)
  }

  /** Newest first. */
  list (opts: { status?: OutboxStatus, limit?: number } = {}): OutboxEntry[] {
    const limit = opts.limit ?? -1 // SQLite: a negative LIMIT is no limit
    const rows = opts.status === undefined ? this.stmt.listAll.all(limit) : this.stmt.listBy.all(opts.status, limit)
    return rows.map(toEntry)
  }

  /** Every record in creation order, read lazily (for exports of any size). */
  * entries (opts: { status?: OutboxStatus } = {}): Generator<OutboxEntry> {
    const rows = opts.status === undefined ? this.stmt.eachAll.iterate() : this.stmt.eachBy.iterate(opts.status)
    for (const r of rows) yield toEntry(r)
  }

  stats (now = new Date()): OutboxStats {
    const out: OutboxStats = { pending: 0, delivered: 0, dead: 0, oldestPendingAgeMs: null }
    for (const { status, n } of this.stmt.counts.all()) out[status] = n
    const oldest = this.stmt.oldestPending.get()
    if (oldest !== undefined) out.oldestPendingAgeMs = Math.max(0, now.getTime() - Date.parse(oldest.created_at))
    return out
  }

  private settle (id: string, write: () => void): void {
    try { write() } finally { this.claimed.delete(id) }
  }
}
