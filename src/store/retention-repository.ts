// Retention's SQL (the policy is in src/retention/policy.ts). Each batch is one
// BEGIN IMMEDIATE transaction of at most `limit` rows, read through an index on the
// row's age, so a batch costs what it deletes, not the size of the table. The outbox
// counts (apkt_counts) follow deleted records through their trigger (migration 6).
import type { RetentionTable } from '../retention/policy.ts'
import type { Db } from './sqlite.ts'
import { hourKey, jakartaDay } from './report-rollups.ts'

// A call is kept while one of its APKT records is still open (pending or dead):
// apkt_records_open_by_call (migration 8) answers that with one lookup.
const OPEN_RECORD = "EXISTS (SELECT 1 FROM apkt_records r WHERE r.call_id = c.call_id AND r.status <> 'delivered')"

export class SqliteRetentionStore {
  private readonly stmt

  constructor (private readonly db: Db) {
    this.stmt = {
      // Calls in closed_at order from where the last batch stopped (closed_at, rowid):
      // the calls kept for an open record are passed over once per pass, not once per batch.
      calls: db.prepare<{ cutoff: string, at: string, rid: number, limit: number }, { rid: number, at: string, open: number }>(`
        SELECT c.rowid AS rid, c.closed_at AS at, ${OPEN_RECORD} AS open FROM calls c INDEXED BY calls_closed
        WHERE c.closed_at < @cutoff AND (c.closed_at, c.rowid) > (@at, @rid)
        ORDER BY c.closed_at, c.rowid LIMIT @limit`),
      deleteCall: db.prepare('DELETE FROM calls WHERE rowid = ?'),
      audit: db.prepare('DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < ? ORDER BY at LIMIT ?)'),
      apktDelivered: db.prepare(`DELETE FROM apkt_records WHERE seq IN (SELECT seq FROM apkt_records INDEXED BY apkt_records_delivered_at
        WHERE status = 'delivered' AND delivered_at < ? ORDER BY delivered_at LIMIT ?)`),
      // Report data (migration 14): facts by when they happened, rollups by the hour or
      // Jakarta day they hold once it ended by the cutoff; each by its key's order.
      reportFacts: db.prepare('DELETE FROM report_facts WHERE rowid IN (SELECT rowid FROM report_facts WHERE at < ? ORDER BY at LIMIT ?)'),
      reportHourly: db.prepare('DELETE FROM report_hourly WHERE (bucket, metric, key) IN (SELECT bucket, metric, key FROM report_hourly WHERE bucket < ? ORDER BY bucket LIMIT ?)'),
      reportDaily: db.prepare(`DELETE FROM report_agent_daily WHERE (day, agent_id, metric, key) IN
        (SELECT day, agent_id, metric, key FROM report_agent_daily WHERE day < ? ORDER BY day LIMIT ?)`),
      count: {
        calls: db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM calls c INDEXED BY calls_closed WHERE c.closed_at < ? AND NOT ${OPEN_RECORD}`),
        audit: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM audit WHERE at < ?'),
        apktDelivered: db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM apkt_records INDEXED BY apkt_records_delivered_at WHERE status = 'delivered' AND delivered_at < ?"),
        reports: db.prepare<[string, string, string], { n: number }>(`SELECT (SELECT COUNT(*) FROM report_facts WHERE at < ?)
          + (SELECT COUNT(*) FROM report_hourly WHERE bucket < ?) + (SELECT COUNT(*) FROM report_agent_daily WHERE day < ?) AS n`)
      }
    }
  }

  deleteBatch (table: RetentionTable, cutoff: string, limit: number, after?: string): { deleted: number, after?: string } {
    // A purge batch's commit skips the fsync (synchronous NORMAL, for this transaction
    // only: nothing else runs on this connection before it is set back). The fsync was
    // most of a small batch's time (about 1.7 ms of 1.9 ms for 10 calls on the test
    // machine), and what a power cut can cost is deletions the next pass redoes; WAL
    // keeps the file consistent either way, and the next durable commit syncs them too.
    const sync = this.db.pragma('synchronous', { simple: true }) as number
    this.db.pragma('synchronous = NORMAL')
    try {
      return this.db.transaction(() => {
        if (table === 'calls') return this.callsBatch(cutoff, limit, after)
        if (table === 'reports') {
          // Facts first, then the hours, then the days: up to `limit` rows of them all.
          let deleted = this.stmt.reportFacts.run(cutoff, limit).changes
          if (deleted < limit) deleted += this.stmt.reportHourly.run(hourKey(cutoff), limit - deleted).changes
          if (deleted < limit) deleted += this.stmt.reportDaily.run(jakartaDay(Date.parse(cutoff)), limit - deleted).changes
          return deleted < limit ? { deleted } : { deleted, after: 'more' }
        }
        const deleted = this.stmt[table].run(cutoff, limit).changes
        // Every row this batch looked at was deleted: fewer than asked means none are left.
        return deleted < limit ? { deleted } : { deleted, after: 'more' }
      }).immediate()
    } finally {
      this.db.pragma(`synchronous = ${sync}`)
    }
  }

  countOld (table: RetentionTable, cutoff: string): number {
    if (table === 'reports') return this.stmt.count.reports.get(cutoff, hourKey(cutoff), jakartaDay(Date.parse(cutoff)))?.n ?? 0
    return this.stmt.count[table].get(cutoff)?.n ?? 0
  }

  private callsBatch (cutoff: string, limit: number, after?: string): { deleted: number, after?: string } {
    const [at, rid] = after === undefined ? ['', 0] : JSON.parse(after) as [string, number]
    const rows = this.stmt.calls.all({ cutoff, at, rid, limit })
    let deleted = 0
    for (const r of rows) if (r.open === 0) deleted += this.stmt.deleteCall.run(r.rid).changes
    const last = rows.at(-1)
    return rows.length < limit || last === undefined ? { deleted } : { deleted, after: JSON.stringify([last.at, last.rid]) }
  }
}
