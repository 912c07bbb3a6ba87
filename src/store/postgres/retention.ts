// Retention's SQL on PostgreSQL (the policy is in src/retention/policy.ts). Each batch is
// one short transaction of at most `limit` rows, read through an index on the row's age
// (calls_closed, audit_at, apkt_records_delivered_at), so a batch costs what it deletes.
import type pg from 'pg'
import type { RetentionTable } from '../../retention/policy.ts'
import type { RetentionQueries } from '../port.ts'
import { transaction } from './pool.ts'
import { hourKey, jakartaDay } from '../report-rollups.ts'

// A call is kept while one of its APKT records is still open (pending or dead):
// apkt_records_open_by_call answers that with one lookup.
const OPEN_RECORD = "EXISTS (SELECT 1 FROM apkt_records r WHERE r.call_id = c.call_id AND r.status <> 'delivered')"

const DELETE_OLD: Record<Exclude<RetentionTable, 'calls' | 'reports'>, string> = {
  audit: 'DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < $1 ORDER BY at LIMIT $2)',
  apktDelivered: `DELETE FROM apkt_records WHERE seq IN (SELECT seq FROM apkt_records
    WHERE status = 'delivered' AND delivered_at < $1 ORDER BY delivered_at LIMIT $2)`
}

const COUNT_OLD: Record<RetentionTable, string> = {
  calls: `SELECT count(*) AS n FROM calls c WHERE c.closed_at < $1 AND NOT ${OPEN_RECORD}`,
  audit: 'SELECT count(*) AS n FROM audit WHERE at < $1',
  apktDelivered: "SELECT count(*) AS n FROM apkt_records WHERE status = 'delivered' AND delivered_at < $1",
  reports: `SELECT (SELECT count(*) FROM report_facts WHERE at < $1) + (SELECT count(*) FROM report_hourly WHERE bucket < $2)
    + (SELECT count(*) FROM report_agent_daily WHERE day < $3) AS n`
}

// Report data (migration 14): facts by when they happened, rollups by the hour or Jakarta
// day they hold once it ended by the cutoff; up to `limit` rows of them all per batch.
const DELETE_REPORTS = [
  'DELETE FROM report_facts WHERE id IN (SELECT id FROM report_facts WHERE at < $1 ORDER BY at LIMIT $2)',
  'DELETE FROM report_hourly WHERE (bucket, metric, key) IN (SELECT bucket, metric, key FROM report_hourly WHERE bucket < $1 ORDER BY bucket LIMIT $2)',
  'DELETE FROM report_agent_daily WHERE (day, agent_id, metric, key) IN (SELECT day, agent_id, metric, key FROM report_agent_daily WHERE day < $1 ORDER BY day LIMIT $2)'
]
const reportCutoffs = (cutoff: string): string[] => [cutoff, hourKey(cutoff), jakartaDay(Date.parse(cutoff))]

export function pgRetention (pool: pg.Pool): RetentionQueries {
  return {
    async deleteBatch (table, cutoff, limit, after) {
      return await transaction(pool, async client => {
        // A purge batch's commit does not wait for its WAL flush (this transaction only;
        // a setting any role may change). What a crash can cost is deletions the next
        // pass redoes; every durable commit after it flushes them anyway.
        await client.query('SET LOCAL synchronous_commit = off')
        if (table === 'reports') {
          const cutoffs = reportCutoffs(cutoff)
          let deleted = 0
          for (const [i, sql] of DELETE_REPORTS.entries()) {
            if (deleted >= limit) break
            deleted += (await client.query(sql, [cutoffs[i], limit - deleted])).rowCount ?? 0
          }
          return deleted < limit ? { deleted } : { deleted, after: 'more' }
        }
        if (table !== 'calls') {
          const deleted = (await client.query(DELETE_OLD[table], [cutoff, limit])).rowCount ?? 0
          // Every row this batch looked at was deleted: fewer than asked means none are left.
          return deleted < limit ? { deleted } : { deleted, after: 'more' }
        }
        // Calls in (closed_at, call_id) order from where the last batch stopped: the
        // calls kept for an open record are passed over once per pass, not once per batch.
        const [at, id] = after === undefined ? ['', ''] : JSON.parse(after) as [string, string]
        const seen = (await client.query<{ call_id: string, closed_at: string }>(`SELECT c.call_id, c.closed_at FROM calls c
          WHERE c.closed_at IS NOT NULL AND c.closed_at < $1 AND (c.closed_at, c.call_id) > ($2, $3)
          ORDER BY c.closed_at, c.call_id LIMIT $4`, [cutoff, at, id, limit])).rows
        const deleted = seen.length === 0
          ? 0
          : (await client.query(`DELETE FROM calls c WHERE c.call_id = ANY($1) AND c.closed_at < $2 AND NOT ${OPEN_RECORD}`,
              [seen.map(r => r.call_id), cutoff])).rowCount ?? 0
        const last = seen.at(-1)
        return seen.length < limit || last === undefined ? { deleted } : { deleted, after: JSON.stringify([last.closed_at, last.call_id]) }
      })
    },
    async countOld (table, cutoff) {
      const r = (await pool.query<{ n: string }>(COUNT_OLD[table], table === 'reports' ? reportCutoffs(cutoff) : [cutoff])).rows[0]
      return Number(r?.n ?? 0)
    }
  }
}
