// The embedded store: one SQLite file (better-sqlite3), WAL, synchronous FULL so a
// committed write survives a power cut as well as a crash, migrations at open.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { migrations as defaultMigrations, type Migration } from './migrations.ts'

export type Db = Database.Database

export interface Store {
  readonly db: Db
  readonly path: string
  /** Throws when the file cannot be read or written (a cheap check for /readyz). */
  check: () => void
  close: () => void
  readonly open: boolean
}

export function openStore (file: string, migrations: Migration[] = defaultMigrations): Store {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db, migrations)
  return {
    db,
    path: file,
    check () {
      db.prepare('SELECT 1').get()
      db.prepare('INSERT INTO service_meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
        .run('last_health_check', 'ok', new Date().toISOString())
    },
    close () { if (db.open) db.close() },
    get open () { return db.open }
  }
}

export function migrate (db: Db, migrations: Migration[]): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT')
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map(r => r.version))
  const sorted = [...migrations].sort((a, b) => a.version - b.version)
  const ran: number[] = []
  for (const m of sorted) {
    if (applied.has(m.version)) continue
    db.transaction(() => {
      db.exec(m.sql)
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString())
    })()
    ran.push(m.version)
  }
  return ran
}
