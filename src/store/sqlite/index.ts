// The embedded SQLite engine of the Store port (src/store/port.ts).
import type { Migration } from '../migrations.ts'
import type { Store } from '../port.ts'
import { openInThread } from './in-thread.ts'

export type SqliteMode = 'in-thread'

export interface SqliteStoreOptions {
  /** Where the connection runs (internal: tests and the benchmark compare them). */
  mode?: SqliteMode
}

export async function openSqliteStore (file: string, migrations: Migration[], opts: SqliteStoreOptions = {}): Promise<Store> {
  switch (opts.mode ?? 'in-thread') {
    case 'in-thread': return openInThread(file, migrations)
  }
}
