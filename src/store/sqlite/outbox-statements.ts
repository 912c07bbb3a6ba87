// The outbox's SQL on SQLite (the engine's internals: src/store/sqlite/engine.ts runs it
// in its transactions). Statements as the service used them before the store port;
// claims now live in the row (migration 10) and are the engine's, not this class's.
import type { Db } from '../sqlite.ts'
import type { ApktRecord } from '../../apkt/record.ts'
import type { OutboxEntry, OutboxStats, OutboxStatus } from '../port.ts'
import { toOutboxEntry, type OutboxRow } from '../rows.ts'



export class SqliteOutboxStatements {
  private readonly stmt

  constructor (private readonly db: Db) {
    this.stmt = {
      insert: db.prepare(`INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, next_attempt_at, created_at, body)
        VALUES (@id, @outcomeKey, @agentId, @callId, 'pending', 0, @now, @now, @body)
        ON CONFLICT (outcome_key) DO NOTHING`),
      byKey: db.prepare<[string], OutboxRow>('SELECT * FROM apkt_records WHERE outcome_key = ?'),
      byId: db.prepare<[string], OutboxRow>('SELECT * FROM apkt_records WHERE id = ?'),
      listAll: db.prepare<[number], OutboxRow>('SELECT * FROM apkt_records ORDER BY seq DESC LIMIT ?'),
      listBy: db.prepare<[OutboxStatus, number], OutboxRow>('SELECT * FROM apkt_records WHERE status = ? ORDER BY seq DESC LIMIT ?'),
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
    return { record: toOutboxEntry(existing).record, created: false }
  }

  get (id: string): OutboxEntry | undefined {
    const row = this.stmt.byId.get(id)
    return row === undefined ? undefined : toOutboxEntry(row)
  }

  /** Newest first. */
  list (opts: { status?: OutboxStatus, limit?: number } = {}): OutboxEntry[] {
    const limit = opts.limit ?? -1 // SQLite: a negative LIMIT is no limit
    const rows = opts.status === undefined ? this.stmt.listAll.all(limit) : this.stmt.listBy.all(opts.status, limit)
    return rows.map(toOutboxEntry)
  }

  stats (now = new Date()): OutboxStats {
    const out: OutboxStats = { pending: 0, delivered: 0, dead: 0, oldestPendingAgeMs: null }
    for (const { status, n } of this.stmt.counts.all()) out[status] = n
    const oldest = this.stmt.oldestPending.get()
    if (oldest !== undefined) out.oldestPendingAgeMs = Math.max(0, now.getTime() - Date.parse(oldest.created_at))
    return out
  }
}
