// The HA group's own connection to the database (src/ha/runner.ts): the lease and the
// roll call, on a small pool apart from the store's. A standby has no store open (the
// full service, and with it the store, exists only on the active), and the active's
// renewals must not queue behind its own commits or reads: a pool of its own is both.
//
// It migrates the schema first (the lease's tables come with it), with the same
// advisory lock as the store's open, so instances starting at once on an empty database
// do not collide; a database unreachable at start is waited for, as openEngine does.
import { setTimeout as delay } from 'node:timers/promises'
import { Backoff } from '../../backoff.ts'
import type { LeasePort } from '../../ha/lease.ts'
import type { Log } from '../../log.ts'
import type { Migration } from '../migrations.ts'
import { isPgUnavailable } from './errors.ts'
import { pgLease } from './lease.ts'
import { migrate } from './migrate.ts'
import { createPool } from './pool.ts'
import { describeUrl } from './where.ts'

export interface GroupPort {
  lease: LeasePort
  /** The lease as the database holds it now: its holder (null: none) and expiry (ISO, the database's clock). */
  holder: () => Promise<{ holder: string | null, expiresAt: string | null }>
  close: () => Promise<void>
}

export interface GroupPortOptions {
  url: string
  /** The lease's length: a statement that takes longer than it is of no use to the lease. */
  leaseMs: number
  log: Log
  /** Each failed try to reach the database at start. */
  onRetry?: (err: unknown, attempt: number, retryInMs: number) => void
  signal?: AbortSignal
}

/** Two connections: one renewal (or take) and one roll-call read may run at once. */
const POOL_SIZE = 2

export async function openGroupPort (opts: GroupPortOptions, migrations: readonly Migration[]): Promise<GroupPort> {
  const where = describeUrl(opts.url)
  // The store's default (5 s), but never longer than the lease: a renewal answered after
  // the lease ran out is worth nothing, and a frozen server must fail it while it matters.
  const statementTimeoutMs = Math.max(500, Math.min(5000, opts.leaseMs))
  const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 })
  for (;;) {
    opts.signal?.throwIfAborted()
    try {
      await migrate(opts.url, migrations, where, { connectMs: Math.max(1000, statementTimeoutMs), migrationMs: 600_000 })
      break
    } catch (err) {
      if (!isPgUnavailable(err)) throw err
      const retryInMs = backoff.next()
      opts.log.error({ err: { code: (err as { code?: string }).code, message: (err as Error).message }, attempt: backoff.attempts, retryInMs }, 'ha: database unreachable at start: trying again')
      opts.onRetry?.(err, backoff.attempts, retryInMs)
      await delay(retryInMs, undefined, opts.signal !== undefined ? { signal: opts.signal } : {})
    }
  }
  const { pool, end } = createPool({ url: opts.url, poolSize: POOL_SIZE, statementTimeoutMs, log: opts.log })
  return {
    lease: pgLease(pool),
    async holder () {
      const r = await pool.query<{ holder: string | null, expires_at: Date }>("SELECT holder, expires_at FROM ha_lease WHERE name = 'active'")
      const row = r.rows[0]
      return row === undefined || row.holder === null ? { holder: null, expiresAt: null } : { holder: row.holder, expiresAt: row.expires_at.toISOString() }
    },
    async close () { await end(statementTimeoutMs + 1000) }
  }
}
