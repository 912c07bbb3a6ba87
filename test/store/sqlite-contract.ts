// The Store contract (contract.ts) on the SQLite engine in one mode, on real files in a
// temp dir. One test file per mode (sqlite.test.ts, sqlite-worker.test.ts): each stays
// well inside tap's per-file timeout on a loaded machine (a worker start is ~1 s there).
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Test } from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore, type SqliteMode } from '../../src/store/sqlite/index.ts'
import { storeContract } from './contract.ts'

const ALL = [...migrations, ...apktMigrations]

export function sqliteContract (t: Test, mode: SqliteMode): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), `pln123-store-sqlite-${mode}-`))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  let n = 0
  storeContract(t, `sqlite/${mode}`, async () => await openSqliteStore(path.join(dir, `${++n}.db`), ALL, { mode }), {
    openAnother: async s => await openSqliteStore(s.where, ALL, { mode }),
    kind: 'sqlite'
  })
}
