// Why the store cannot take a write, in words a client or an operator can act on, never
// the driver's text (it can carry a file path or a host). Both engines' codes: the HTTP
// error handler, the journal's outage and /v1/status say it the same way.
import { isStoreUnavailable } from './errors.ts'
import { isPgUnavailable } from './postgres/errors.ts'

const SQLITE: Array<[RegExp, string]> = [
  [/^SQLITE_FULL/, 'the disk is full'],
  [/^SQLITE_READONLY/, 'it is read-only'],
  [/^SQLITE_IOERR/, 'an I/O error'],
  [/^SQLITE_(BUSY|LOCKED)/, 'it is busy'],
  [/^SQLITE_(CORRUPT|NOTADB)/, 'its file is damaged'],
  [/^SQLITE_CANTOPEN/, 'its file cannot be opened']
]

const POSTGRES: Array<[RegExp, string]> = [
  [/^53100$/, 'the database disk is full'],
  [/^25006$/, 'the database is read-only'],
  [/^53300$|^53400$/, 'the database refuses new connections'],
  [/^57P0[123]$/, 'the database is restarting or shutting down'],
  [/^57014$|^STORE_UNAVAILABLE$/, 'the database did not answer in time'],
  [/^28/, 'the database refused the login'],
  [/^(08|ECONN|EHOST|ENET|ENOTFOUND|EAI_AGAIN|EPIPE|ETIMEDOUT)/, 'the database cannot be reached']
]

/** The reason in words when `err` means "the store cannot take this now"; undefined for anything else (a bug). */
export function whyStoreUnavailable (err: unknown): string | undefined {
  const code = String((err as { code?: unknown } | null)?.code ?? '')
  if (isStoreUnavailable(err)) return SQLITE.find(([re]) => re.test(code))?.[1] ?? 'it is unavailable'
  if (code === 'STORE_WORKER_GONE') return 'its worker stopped'
  // ENOENT: a missing file or socket path is a bug or a config error for this service (it
  // reaches PostgreSQL over TCP), not a database away for a while.
  if (code !== 'ENOENT' && isPgUnavailable(err)) return POSTGRES.find(([re]) => re.test(code))?.[1] ?? 'the database cannot be reached'
  return undefined
}
