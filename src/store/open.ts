// Opens the engine the config names. The only place that knows both engines exist.
import type { Log } from '../log.ts'
import type { Migration } from './migrations.ts'
import type { Store } from './port.ts'
import { openSqliteStore, type SqliteMode } from './sqlite/index.ts'
import { isPgUnavailable, openPostgresStore } from './postgres/index.ts'
import { Backoff } from '../backoff.ts'

export type StoreConfig =
  | { kind: 'sqlite', path: string, mode?: SqliteMode }
  | { kind: 'postgres', url: string, poolSize: number }

/** The validated config's store block as an engine to open (load.ts has checked a postgres one has its URL). */
export function storeConfigOf (store: { kind: 'sqlite' | 'postgres', path: string, url?: string, poolSize: number }): StoreConfig {
  if (store.kind === 'postgres') {
    if (store.url === undefined) throw new Error('store.url: is required when store.kind is postgres (set CTI_STORE_URL)')
    return { kind: 'postgres', url: store.url, poolSize: store.poolSize }
  }
  return { kind: 'sqlite', path: store.path }
}
/**
 * `waitForDatabase`: a PostgreSQL server unreachable at start (the service came up first,
 * the database is restarting) is waited for, with back-off and a log line per try,
 * instead of exiting; anything else (a wrong password is a 28xxx the engine counts as
 * unavailable too, so it is retried and logged) a bug or a too-new schema, fails at once.
 */
export async function openEngine (config: StoreConfig, migrations: Migration[], log: Log, opts: { waitForDatabase?: boolean } = {}): Promise<Store> {
  if (config.kind === 'sqlite') return await openSqliteStore(config.path, migrations, config.mode !== undefined ? { mode: config.mode } : {})
  const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 })
  for (;;) {
    try {
      return await openPostgresStore({ url: config.url, poolSize: config.poolSize, log }, migrations)
    } catch (err) {
      if (opts.waitForDatabase !== true || !isPgUnavailable(err)) throw err
      const retryInMs = backoff.next()
      log.error({ err: { code: (err as { code?: string }).code, message: (err as Error).message }, attempt: backoff.attempts, retryInMs }, 'database unreachable at start: trying again')
      await new Promise(resolve => setTimeout(resolve, retryInMs))
    }
  }
}
