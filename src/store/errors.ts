// Which store errors mean "the store cannot take a write now" rather than a bug: the
// disk is full, the file or its directory went read-only, an I/O error, the file is
// gone or locked for too long. Requests that must persist answer 503 STORE_UNAVAILABLE
// for these (never 500, never a success claim), and the service keeps running.
import Database from 'better-sqlite3'

const UNAVAILABLE = /^SQLITE_(READONLY|IOERR|FULL|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB|PROTOCOL)/

export function isStoreUnavailable (err: unknown): boolean {
  return err instanceof Database.SqliteError && UNAVAILABLE.test(err.code)
}

/**
 * The store file was written by a newer version of the service (its schema has a
 * migration this version does not know). Opening it anyway would run old code on a
 * schema it does not understand, so the service and the CLI refuse and exit 1.
 */
export class StoreVersionError extends Error {
  override readonly name = 'StoreVersionError'
  readonly code = 'STORE_TOO_NEW'
  constructor (readonly file: string, readonly found: number, readonly known: number) {
    super(`the store ${file} has schema version ${found}, written by a newer version of pln123-cti; this version knows schema versions up to ${known}. Run the newer version, or restore a backup made before the upgrade`)
  }
}
