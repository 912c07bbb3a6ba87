// Opens the engine the config names. The only place that knows both engines exist.
import { setTimeout as delay } from 'node:timers/promises'
import type { Log } from '../log.ts'
import type { Migration } from './migrations.ts'
import type { Store } from './port.ts'
import { openSqliteStore, type SqliteMode } from './sqlite/index.ts'
import { isPgUnavailable, openPostgresStore } from './postgres/index.ts'
import { describeUrl } from './postgres/where.ts'
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
/** Where the store is, for /v1/status and logs: the file, or host:port/database (never the URL's password). */
export function storeWhere (config: StoreConfig): string {
  return config.kind === 'sqlite' ? config.path : describeUrl(config.url)
}

/** For whoever shows the wait (src/http/starting.ts) and whoever may end it (SIGTERM). */
export interface StoreWait {
  /** Each failed try: its error, its number (1 = the first), and the wait before the next. */
  onRetry?: (err: unknown, attempt: number, retryInMs: number) => void
  /** Ends the wait: the open rejects with the signal's reason at the next pause. */
  signal?: AbortSignal
}

/**
 * `waitForDatabase`: a PostgreSQL server unreachable at start (the service came up first,
 * the database is restarting) is waited for, with back-off and a log line per try,
 * instead of exiting; anything else (a wrong password is a 28xxx the engine counts as
 * unavailable too, so it is retried and logged) a bug or a too-new schema, fails at once.
 */
export async function openEngine (config: StoreConfig, migrations: Migration[], log: Log, opts: { waitForDatabase?: boolean } & StoreWait = {}): Promise<Store> {
  if (config.kind === 'sqlite') return await openSqliteStore(config.path, migrations, config.mode !== undefined ? { mode: config.mode } : {})
  const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 })
  for (;;) {
    opts.signal?.throwIfAborted()
    try {
      return await openPostgresStore({ url: config.url, poolSize: config.poolSize, log }, migrations)
    } catch (err) {
      if (opts.waitForDatabase !== true || !isPgUnavailable(err)) throw err
      const retryInMs = backoff.next()
      log.error({ err: { code: (err as { code?: string }).code, message: (err as Error).message }, attempt: backoff.attempts, retryInMs }, 'database unreachable at start: trying again')
      opts.onRetry?.(err, backoff.attempts, retryInMs)
      await delay(retryInMs, undefined, opts.signal !== undefined ? { signal: opts.signal } : {})
    }
  }
}
