// The connection on the main thread: each run of queued jobs executes synchronously
// here (front.ts groups them; engine.ts commits the writes among them together).
import type { Migration } from '../migrations.ts'
import { openStore } from '../sqlite.ts'
import { SqliteEngine } from './engine.ts'
import { storeFront } from './front.ts'
import type { Store } from '../port.ts'

export function openInThread (file: string, migrations: Migration[], pragmas: string[] = []): Store {
  // openStore: WAL, synchronous FULL, busy timeout, migrations in BEGIN IMMEDIATE,
  // StoreVersionError for a newer schema: the same file the service opens today.
  const sqlite = openStore(file, migrations)
  for (const p of pragmas) sqlite.db.pragma(p)
  const engine = new SqliteEngine(sqlite)
  return storeFront({
    run: async jobs => engine.run(jobs),
    close: async () => { engine.close() }
  }, file, sqlite.migrated)
}
