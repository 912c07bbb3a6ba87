// The store as the operators' commands open it: the engine the config names, migrated,
// without the service's journal (a command writes once and waits for it).
import { existsSync } from 'node:fs'
import { apktMigrations } from '../apkt/migrations.ts'
import { silentLog } from '../log.ts'
import { migrations } from '../store/migrations.ts'
import { openEngine, type StoreConfig } from '../store/open.ts'
import type { Store } from '../store/port.ts'

export async function openCliStore (config: StoreConfig): Promise<Store> {
  // Opening creates a missing file; an operator with a wrong path should hear so instead.
  if (config.kind === 'sqlite' && !existsSync(config.path)) throw new Error(`no store at ${config.path} (store.path / CTI_STORE_PATH)`)
  // A one-shot command opens SQLite on its own thread: a worker costs a second to start for nothing.
  return await openEngine(config.kind === 'sqlite' ? { ...config, mode: 'in-thread' } : config, [...migrations, ...apktMigrations], silentLog)
}
