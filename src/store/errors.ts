// Which store errors mean "the store cannot take a write now" rather than a bug: the
// disk is full, the file or its directory went read-only, an I/O error, the file is
// gone or locked for too long. Requests that must persist answer 503 STORE_UNAVAILABLE
// for these (never 500, never a success claim), and the service keeps running.
import Database from 'better-sqlite3'

const UNAVAILABLE = /^SQLITE_(READONLY|IOERR|FULL|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB|PROTOCOL)/

export function isStoreUnavailable (err: unknown): boolean {
  return err instanceof Database.SqliteError && UNAVAILABLE.test(err.code)
}
