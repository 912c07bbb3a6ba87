// The embedded store: one SQLite file (better-sqlite3), WAL, synchronous FULL so a
// committed write survives a power cut as well as a crash, migrations at open.
// The service and the CLI may open the same (new) file at the same moment: migrations
// run inside one BEGIN IMMEDIATE, which takes the write lock before the version is
// read, so the second opener waits (busy timeout), then finds the schema applied.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { StoreVersionError } from './errors.ts'
import { migrations as defaultMigrations, type Migration } from './migrations.ts'

export type Db = Database.Database

export interface Store {
  readonly db: Db
  readonly path: string
  /** The migrations this open applied (empty when the schema was already current). */
  readonly migrated: number[]
  /** Throws when the file cannot be read or written (a cheap check for /readyz). */
  check: () => void
  close: () => void
  readonly open: boolean
}

const BUSY_TIMEOUT_MS = 5000

/**
 * Switching a new file to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY
 * at once (no busy handler) while another connection holds one, e.g. the other
 * process switching the same file: retry within the busy timeout. Once switched, WAL
 * is a property of the file and the pragma needs no lock.
 */
function walMode (db: Db): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS
  for (;;) {
    try {
      db.pragma('journal_mode = WAL')
      return
    } catch (err) {
      if (!(err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY')) || Date.now() > deadline) throw err
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5) // at open only: a synchronous pause is fine
    }
  }
}

export function openStore (file: string, migrations: Migration[] = defaultMigrations): Store {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  const db = new Database(file)
  let migrated: number[]
  try {
    // First, so that switching a new file to WAL and migrating wait for another opener.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
    walMode(db)
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    migrated = migrate(db, migrations, file)
  } catch (err) {
    db.close()
    throw err
  }
  return {
    db,
    path: file,
    migrated,
    check () {
      db.prepare('SELECT 1').get()
      db.prepare('INSERT INTO service_meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
        .run('last_health_check', 'ok', new Date().toISOString())
    },
    close () { if (db.open) db.close() },
    get open () { return db.open }
  }
}

/**
 * Applies the migrations `db` lacks, all in one write transaction taken before the
 * version is read (BEGIN IMMEDIATE), so two processes never apply the same one. A
 * schema newer than the newest migration given (a version in schema_migrations, or
 * PRAGMA user_version, above it) is refused with StoreVersionError and left untouched.
 * Records the schema version in user_version too, so any tool can read it.
 */
export function migrate (db: Db, migrations: Migration[], file = db.name): number[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version)
  const known = sorted.at(-1)?.version ?? 0
  return db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT')
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map(r => r.version))
    const userVersion = db.pragma('user_version', { simple: true }) as number
    const found = Math.max(userVersion, ...applied)
    if (found > known) throw new StoreVersionError(file, found, known)
    const ran: number[] = []
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    for (const m of sorted) {
      if (applied.has(m.version)) continue
      db.exec(m.sql)
      record.run(m.version, m.name, new Date().toISOString())
      ran.push(m.version)
    }
    const now = Math.max(found, ...ran)
    if (now !== userVersion) db.pragma(`user_version = ${now}`)
    return ran
  }).immediate()
}
