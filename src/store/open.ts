// Opens the engine the config names. The only place that knows both engines exist.
import type { Log } from '../log.ts'
import type { Migration } from './migrations.ts'
import type { Store } from './port.ts'
import { openSqliteStore } from './sqlite/index.ts'
import { openPostgresStore } from './postgres/index.ts'

export type StoreConfig =
  | { kind: 'sqlite', path: string }
  | { kind: 'postgres', url: string, poolSize: number }

export async function openEngine (config: StoreConfig, migrations: Migration[], log: Log): Promise<Store> {
  if (config.kind === 'postgres') return await openPostgresStore({ url: config.url, poolSize: config.poolSize, log }, migrations)
  return await openSqliteStore(config.path, migrations)
}
