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

// The worker, by measurement (test/bench/store-commit.ts, 200 concurrent outcome commits,
// 2 cores shared with other work): the event loop was held p99 8 ms meanwhile, against
// 71 ms in-thread (the whole group runs on the loop) and 677 ms today (a transaction per
// change); commits/s 1,605 vs 2,845 in-thread vs 296 today. A one-shot command (the CLI)
// is better served in-thread: a worker costs about a second to start (a fresh isolate
// loading the TypeScript modules) against 40 ms.
export const DEFAULT_SQLITE_MODE: SqliteMode = 'worker'

export async function openSqliteStore (file: string, migrations: Migration[], opts: SqliteStoreOptions = {}): Promise<Store> {
  switch (opts.mode ?? DEFAULT_SQLITE_MODE) {
    case 'in-thread': return openInThread(file, migrations, opts.pragmas)
    case 'worker': return await openInWorker(file, migrations, opts.pragmas)
  }
}
