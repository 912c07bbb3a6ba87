// The embedded SQLite engine of the Store port (src/store/port.ts).
import type { Migration } from '../migrations.ts'
import type { Store } from '../port.ts'
import { openInThread } from './in-thread.ts'
import { openInWorker } from './worker-runner.ts'

/**
 * Where the connection runs: 'worker' (a worker thread owns it; statements and fsyncs
 * never hold the event loop) or 'in-thread' (on the main thread). Both group the
 * commits handed in together into one transaction.
 */
export type SqliteMode = 'worker' | 'in-thread'

export interface SqliteStoreOptions {
  /** Internal: tests and the benchmark compare the two; the service takes the default. */
  mode?: SqliteMode
  /** Internal, for tests: pragmas set after opening (e.g. max_page_count for a full disk). */
  pragmas?: string[]
}

export const DEFAULT_SQLITE_MODE: SqliteMode = 'in-thread'

export async function openSqliteStore (file: string, migrations: Migration[], opts: SqliteStoreOptions = {}): Promise<Store> {
  switch (opts.mode ?? DEFAULT_SQLITE_MODE) {
    case 'in-thread': return openInThread(file, migrations, opts.pragmas)
    case 'worker': return await openInWorker(file, migrations, opts.pragmas)
  }
}
