// Retention's SQL on PostgreSQL (the policy is in src/retention/policy.ts). Each batch is
// one short transaction of at most `limit` rows, read through an index on the row's age
// (calls_closed, audit_at, apkt_records_delivered_at), so a batch costs what it deletes.
import type pg from 'pg'
import type { RetentionTable } from '../../retention/policy.ts'
import type { RetentionQueries } from '../port.ts'
import { transaction } from './pool.ts'

// A call is kept while one of its APKT records is still open (pending or dead):
// apkt_records_open_by_call answers that with one lookup.
const OPEN_RECORD = "EXISTS (SELECT 1 FROM apkt_records r WHERE r.call_id = c.call_id AND r.status <> 'delivered')"

const DELETE_OLD: Record<Exclude<RetentionTable, 'calls'>, string> = {
  audit: 'DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < $1 ORDER BY at LIMIT $2)',
  apktDelivered: `DELETE FROM apkt_records WHERE seq IN (SELECT seq FROM apkt_records
    WHERE status = 'delivered' AND delivered_at < $1 ORDER BY delivered_at LIMIT $2)`
}

const COUNT_OLD: Record<RetentionTable, string> = {
  calls: `SELECT count(*) AS n FROM calls c WHERE c.closed_at < $1 AND NOT ${OPEN_RECORD}`,
  audit: 'SELECT count(*) AS n FROM audit WHERE at < $1',
  apktDelivered: "SELECT count(*) AS n FROM apkt_records WHERE status = 'delivered' AND delivered_at < $1"
}

export function pgRetention (pool: pg.Pool): RetentionQueries {
  return {
    async deleteBatch (table, cutoff, limit, after) {
      return await transaction(pool, async client => {
        // A purge batch's commit does not wait for its WAL flush (this transaction only;
        // a setting any role may change). What a crash can cost is deletions the next
        // pass redoes; every durable commit after it flushes them anyway.
        await client.query('SET LOCAL synchronous_commit = off')
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
      const r = (await pool.query<{ n: string }>(COUNT_OLD[table], [cutoff])).rows[0]
      return Number(r?.n ?? 0)
    }
  }
}
