// Opens the engine the config names. The only place that knows both engines exist.
import type { Log } from '../log.ts'
import type { Migration } from './migrations.ts'
import type { Store } from './port.ts'
import { openSqliteStore, type SqliteMode } from './sqlite/index.ts'
import { openPostgresStore } from './postgres/index.ts'

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
export async function openEngine (config: StoreConfig, migrations: Migration[], log: Log): Promise<Store> {
  if (config.kind === 'postgres') return await openPostgresStore({ url: config.url, poolSize: config.poolSize, log }, migrations)
  return await openSqliteStore(config.path, migrations, config.mode !== undefined ? { mode: config.mode } : {})
}
