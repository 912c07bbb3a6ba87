// The APKT outbox's delivery side on PostgreSQL. Claims are durable and leased in the
// row (claimed_by, claimed_until: migration 10), so dispatchers on several processes
// share one outbox: a record is handed to one of them at a time, an agent's records go
// out in creation order, and a dead dispatcher's claims lapse with their lease.
import type pg from 'pg'
import { OutboxError } from '../../apkt/errors.ts'
import type { OutboxClaim, OutboxEntry, OutboxQueries, OutboxResult, OutboxStats } from '../port.ts'
import { transaction } from './pool.ts'
import { clipError, toOutboxEntry, type OutboxRow } from '../rows.ts'



const PAGE = 500

// The count deltas are folded into one row per status once there are this many. Two
// folds at once are safe: each deletes rows (the second waits on, then skips, those the
// first deleted) and adds back exactly the sum of what it deleted.
const FOLD_AFTER = 200
const FOLD = `WITH gone AS (DELETE FROM apkt_count_deltas RETURNING status, n)
  INSERT INTO apkt_count_deltas (status, n) SELECT status, sum(n) FROM gone GROUP BY status`

// The oldest due records that are their agent's head (no earlier pending record of the
// agent in this statement's snapshot), walked in seq order until `limit` are found, the
// rows themselves locked FOR UPDATE SKIP LOCKED. The conditions that another claimer
// changes (status, lease, due time) are on `r`, the locked row: when a row was claimed or
// settled by a transaction that committed after this snapshot, PostgreSQL re-reads the
// row and re-checks them (READ COMMITTED), so it is not taken twice. A head that is
// locked right now (being claimed or settled) is skipped, and the agent's next record is
// never a head while it is pending: per-agent order holds. Finding every agent's head
// first (DISTINCT ON over the pending records) sorted the whole backlog at each claim:
// 3.4 ms a claim of 18 with 5,000 pending, against 0.1-0.2 ms walking (EXPLAIN ANALYZE).
// With statistics that predate a backlog (few pending then) the planner checks the
// earlier records through the status index instead, about as slow as the sort was.
const CLAIM = `
  WITH picked AS (
    SELECT r.seq FROM apkt_records r
    WHERE r.status = 'pending' AND r.next_attempt_at <= $1 AND (r.claimed_until IS NULL OR r.claimed_until <= $1)
      AND NOT EXISTS (SELECT 1 FROM apkt_records e WHERE e.status = 'pending' AND e.agent_id = r.agent_id AND e.seq < r.seq)
    ORDER BY r.seq LIMIT $2
    FOR UPDATE OF r SKIP LOCKED
  )
  UPDATE apkt_records a SET claimed_by = $3, claimed_until = $4 FROM picked p WHERE a.seq = p.seq
  RETURNING a.*`

// A tick's results, one statement per kind (each row as markDelivered, markFailed,
// markDead or release would change it), the values as parallel arrays. `a.id = ANY ($1)`
// beside the join keeps the plan on the id index whatever the statistics say: without it
// a table whose statistics predate a backlog (few pending then, thousands now) was
// settled through a scan of every pending record.
const SETTLE: Record<OutboxResult['kind'], string> = {
  delivered: `UPDATE apkt_records a SET status = 'delivered', attempts = a.attempts + 1, delivered_at = v.at, next_attempt_at = NULL,
    claimed_by = NULL, claimed_until = NULL FROM unnest($1::text[], $2::text[]) AS v (id, at)
    WHERE a.id = ANY ($1::text[]) AND a.id = v.id AND a.status = 'pending'`,
  failed: `UPDATE apkt_records a SET attempts = a.attempts + 1, last_error = v.error, next_attempt_at = v.next,
    claimed_by = NULL, claimed_until = NULL FROM unnest($1::text[], $2::text[], $3::text[]) AS v (id, error, next)
    WHERE a.id = ANY ($1::text[]) AND a.id = v.id AND a.status = 'pending'`,
  dead: `UPDATE apkt_records a SET status = 'dead', attempts = a.attempts + v.tried, last_error = v.error, next_attempt_at = NULL,
    claimed_by = NULL, claimed_until = NULL FROM unnest($1::text[], $2::text[], $3::int[]) AS v (id, error, tried)
    WHERE a.id = ANY ($1::text[]) AND a.id = v.id AND a.status = 'pending'`,
  released: `UPDATE apkt_records a SET claimed_by = NULL, claimed_until = NULL FROM unnest($1::text[], $2::text[]) AS v (id, owner)
    WHERE a.id = ANY ($1::text[]) AND a.id = v.id AND a.claimed_by = v.owner`
}

/** The statements that record `results`, with their parameters. */
function settleStatements (results: readonly OutboxResult[]): Array<[string, unknown[]]> {
  const cols: { [K in OutboxResult['kind']]: unknown[][] } = { delivered: [[], []], failed: [[], [], []], dead: [[], [], []], released: [[], []] }
  const push = (into: unknown[][], ...values: unknown[]): void => { values.forEach((v, i) => into[i]?.push(v)) }
  // In id order: two transactions settling overlapping rows (a stale claim's holder and
  // the new one) lock them in the same order, so they queue rather than deadlock.
  for (const r of [...results].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) {
    switch (r.kind) {
      case 'delivered': push(cols.delivered, r.id, r.at.toISOString()); break
      case 'failed': push(cols.failed, r.id, clipError(r.error), r.nextAttemptAt.toISOString()); break
      case 'dead': push(cols.dead, r.id, clipError(r.error), r.attempted ? 1 : 0); break
      case 'released': push(cols.released, r.id, r.owner)
    }
  }
  return (Object.keys(SETTLE) as Array<OutboxResult['kind']>).filter(k => (cols[k][0] as unknown[]).length > 0).map(k => [SETTLE[k], cols[k]])
}

const claimParams = ({ now, limit, owner, leaseMs }: OutboxClaim): unknown[] => [now.toISOString(), limit, owner, new Date(now.getTime() + leaseMs).toISOString()]
const claimed = (found: OutboxRow[]): OutboxEntry[] => found.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toOutboxEntry)

export function pgOutbox (pool: pg.Pool): OutboxQueries {
  const rows = async (sql: string, params: unknown[]): Promise<OutboxRow[]> => (await pool.query<OutboxRow>(sql, params)).rows
  // Best effort: the sums stay exact whether or not a fold happens (or fails: a
  // read-only database), only the number of rows summed grows.
  const fold = async (): Promise<void> => { await pool.query(FOLD).catch(() => {}) }

  return {
    async claimDue (claim) {
      if (claim.limit <= 0) return []
      return claimed(await rows(CLAIM, claimParams(claim)))
    },
    async settleAndClaim (results, claim) {
      const statements = settleStatements(results)
      if (claim !== undefined && claim.limit > 0) statements.push([CLAIM, claimParams(claim)])
      if (statements.length === 0) return []
      const last = statements.length - 1
      // One statement commits by itself; more share one transaction (one WAL flush).
      const found = statements.length === 1
        ? await rows(...(statements[0] as [string, unknown[]]))
        : await transaction(pool, async client => {
          let out: OutboxRow[] = []
          for (const [i, [sql, params]] of statements.entries()) {
            const res = await client.query<OutboxRow>(sql, params)
            if (i === last) out = res.rows
          }
          return out
        })
      return claim !== undefined && claim.limit > 0 ? claimed(found) : []
    },
    async releaseAll () {
      await pool.query("UPDATE apkt_records SET claimed_by = NULL, claimed_until = NULL WHERE status = 'pending' AND claimed_by IS NOT NULL")
    },
    async release (id, owner) {
      await pool.query('UPDATE apkt_records SET claimed_by = NULL, claimed_until = NULL WHERE id = $1 AND claimed_by = $2', [id, owner])
    },
    async markDelivered (id, at) {
      await pool.query(`UPDATE apkt_records SET status = 'delivered', attempts = attempts + 1, delivered_at = $1, next_attempt_at = NULL,
        claimed_by = NULL, claimed_until = NULL WHERE id = $2 AND status = 'pending'`, [at.toISOString(), id])
    },
    async markFailed (id, error, nextAttemptAt) {
      await pool.query(`UPDATE apkt_records SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
        claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND status = 'pending'`, [clipError(error), nextAttemptAt.toISOString(), id])
    },
    async markDead (id, error, attempted) {
      await pool.query(`UPDATE apkt_records SET status = 'dead', attempts = attempts + $1, last_error = $2, next_attempt_at = NULL,
        claimed_by = NULL, claimed_until = NULL WHERE id = $3 AND status = 'pending'`, [attempted ? 1 : 0, clipError(error), id])
    },
    async retry (id, now) {
      return await transaction(pool, async client => {
        const row = (await client.query<OutboxRow>('SELECT * FROM apkt_records WHERE id = $1 FOR UPDATE', [id])).rows[0]
        if (row === undefined) throw new OutboxError('RECORD_NOT_FOUND', `no APKT record ${id}`)
        if (row.status !== 'dead') throw new OutboxError('RECORD_NOT_DEAD', `APKT record ${id} is ${row.status}; only a dead record can be retried`)
        const updated = (await client.query<OutboxRow>(`UPDATE apkt_records SET status = 'pending', next_attempt_at = $1, claimed_by = NULL, claimed_until = NULL
          WHERE id = $2 RETURNING *`, [now.toISOString(), id])).rows[0] as OutboxRow
        return toOutboxEntry(updated)
      })
    },
    async get (id) {
      const row = (await rows('SELECT * FROM apkt_records WHERE id = $1', [id]))[0]
      return row === undefined ? undefined : toOutboxEntry(row)
    },
    async list (opts = {}) {
      const limit = opts.limit ?? null // LIMIT NULL: no limit
      const found = opts.status === undefined
        ? await rows('SELECT * FROM apkt_records ORDER BY seq DESC LIMIT $1', [limit])
        : await rows('SELECT * FROM apkt_records WHERE status = $1 ORDER BY seq DESC LIMIT $2', [opts.status, limit])
      return found.map(toOutboxEntry)
    },
    async * entries (opts = {}) {
      // Keyset pages, each its own short query: an export of any size holds no
      // connection and no snapshot between pages.
      let after = '0'
      for (;;) {
        const page = opts.status === undefined
          ? await rows('SELECT * FROM apkt_records WHERE seq > $1 ORDER BY seq LIMIT $2', [after, PAGE])
          : await rows('SELECT * FROM apkt_records WHERE status = $1 AND seq > $2 ORDER BY seq LIMIT $3', [opts.status, after, PAGE])
        for (const r of page) yield toOutboxEntry(r)
        const last = page.at(-1)
        if (last === undefined || page.length < PAGE) return
        after = String(last.seq)
      }
    },
    async stats (now) {
      // Sums of the deltas the triggers append (migration 6 says why not a counter row).
      const r = (await pool.query<{ pending: string, delivered: string, dead: string, deltas: string, oldest: string | null }>(`SELECT
        coalesce(sum(n) FILTER (WHERE status = 'pending'), 0) AS pending,
        coalesce(sum(n) FILTER (WHERE status = 'delivered'), 0) AS delivered,
        coalesce(sum(n) FILTER (WHERE status = 'dead'), 0) AS dead,
        count(*) AS deltas,
        (SELECT created_at FROM apkt_records WHERE status = 'pending' ORDER BY seq LIMIT 1) AS oldest
        FROM apkt_count_deltas`)).rows[0]
      const out: OutboxStats = { pending: Number(r?.pending ?? 0), delivered: Number(r?.delivered ?? 0), dead: Number(r?.dead ?? 0), oldestPendingAgeMs: null }
      if (r?.oldest != null) out.oldestPendingAgeMs = Math.max(0, now.getTime() - Date.parse(r.oldest))
      if (Number(r?.deltas ?? 0) > FOLD_AFTER) await fold()
      return out
    }
  }
}
