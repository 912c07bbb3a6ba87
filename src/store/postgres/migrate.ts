// Migrations on PostgreSQL: the same lists as SQLite (each entry's `postgres` SQL), all
// in one transaction, after pg_advisory_xact_lock. Two processes starting at once on an
// empty database: the second waits on the lock (held until the first commits), then
// reads schema_migrations and finds nothing left to do. DDL is transactional here, so a
// failing migration leaves the database as it was. Needs only the database owner's
// rights (no extension, no superuser setting).
import pg from 'pg'
import { StoreVersionError } from '../errors.ts'
import type { Migration } from '../migrations.ts'
import { connectionSettings } from './pool.ts'

// The advisory lock's key: any fixed bigint, the same in every version of the service
// ("pln123" in ASCII). Single-key locks never collide with the two-key ones
// (src/store/postgres/commit.ts's per-agent lock).
const MIGRATION_LOCK = '123611007496755' // 0x706c6e313233 (PostgreSQL 15 reads no hex literals)

export async function migrate (url: string, migrations: readonly Migration[], where: string, timeouts: { connectMs: number, migrationMs: number }): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version)
  const known = sorted.at(-1)?.version ?? 0
  const missing = sorted.filter(m => m.postgres === undefined).map(m => m.version)
  if (missing.length > 0) throw new Error(`migrations ${missing.join(', ')} have no PostgreSQL SQL`)
  // Its own connection, without the pool's statement_timeout: a migration may rewrite
  // a large table; the client-side limit still keeps a frozen server from hanging the start.
  // Connecting is bounded like any connection: a frozen server fails the start quickly.
  const settings = connectionSettings({ url, statementTimeoutMs: timeouts.migrationMs })
  const client = new pg.Client({ ...settings, connectionTimeoutMillis: timeouts.connectMs, statement_timeout: 0, lock_timeout: 0, idle_in_transaction_session_timeout: 0 })
  client.on('error', () => {}) // a lost connection rejects the query in flight
  await client.connect()
  try {
    await client.query('BEGIN')
    try {
      await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)')
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(r => r.version))
      const found = Math.max(0, ...applied)
      if (found > known) throw new StoreVersionError(where, found, known)
      const ran: number[] = []
      for (const m of sorted) {
        if (applied.has(m.version)) continue
        await client.query(m.postgres as string)
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()])
        ran.push(m.version)
      }
      await client.query('COMMIT')
      return ran
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw err
    }
  } finally {
    // Not awaited: on a frozen server the goodbye would wait for an answer that never comes.
    void client.end().catch(() => {})
  }
}
