// The Store contract (contract.ts) on the SQLite engine, real files in a temp dir.
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import t from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore, type SqliteMode } from '../../src/store/sqlite/index.ts'
import { storeContract } from './contract.ts'

const ALL = [...migrations, ...apktMigrations]
const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-store-sqlite-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

const modes: SqliteMode[] = ['in-thread', 'worker']
for (const mode of modes) {
  storeContract(t, `sqlite/${mode}`, async () => await openSqliteStore(path.join(dir, `${mode}-${++n}.db`), ALL, { mode }), {
    openAnother: async s => await openSqliteStore(s.where, ALL, { mode }),
    kind: 'sqlite'
  })
}
