// The store engines a test runs on. Most of `npm test` runs on the default, SQLite; the
// repository/store tests, the PBX tests of transfer, ACW and APKT and the store fault
// tests run on both (each test's name says which). PostgreSQL is a real server started
// by test/helpers/postgres.ts, one database per test: a missing server fails the test
// unless PLN123_ALLOW_MISSING=postgres (then it is skipped, with the reason).
import type { Test } from 'tap'
import { needPostgres } from './postgres.ts'

export type Engine = 'sqlite' | 'postgres'
export const ENGINES: readonly Engine[] = ['sqlite', 'postgres']

/**
 * The environment that points the service's config at `engine` (pass it to testConfig
 * or startStack): {} for SQLite, a fresh PostgreSQL database owned by a non-superuser
 * role for PostgreSQL. Undefined when PostgreSQL is missing and allowed to be (the test
 * is then marked skipped and should return).
 */
export async function storeEnv (t: Test, engine: Engine): Promise<NodeJS.ProcessEnv | undefined> {
  if (engine === 'sqlite') return {}
  const cluster = await needPostgres(t)
  if (cluster === undefined) return undefined
  const db = await cluster.createDatabase()
  t.teardown(async () => { await db.drop().catch(() => {}) })
  return { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url }
}
