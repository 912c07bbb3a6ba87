// Which PostgreSQL errors mean "the store cannot take this now" rather than a bug: the
// server is gone, restarting, frozen (a timeout), out of connections, read-only or out
// of disk. Requests that must persist answer 503 STORE_UNAVAILABLE for these (never 500)
// and the service keeps running; once the server is back, the same pool reconnects.
// A syntax error, a constraint violation or a wrong type stays a bug (false).

/** Raised by this engine itself when the store cannot answer (its own timeouts). */
export class PgUnavailableError extends Error {
  override readonly name = 'PgUnavailableError'
  readonly code = 'STORE_UNAVAILABLE'
}

// SQLSTATE classes and codes (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const UNAVAILABLE_CLASSES = new Set([
  '08', // connection exception
  '53', // insufficient resources: disk full (53100), out of memory, too many connections (53300)
  '57', // operator intervention: query canceled by statement_timeout (57014), admin/crash shutdown (57P01/57P02), cannot connect now (57P03)
  '58', // system error: I/O error
  '28' // invalid authorization: the server refuses this role now (a wrong password is fixed in config, not by a 500)
])
const UNAVAILABLE_CODES = new Set([
  '25006', // read-only SQL transaction: a standby, or default_transaction_read_only
  '40001', // serialization failure: retry later
  '40P01', // deadlock detected: retry later
  '55P03', // lock not available (lock_timeout)
  '55000', // object not in prerequisite state (e.g. recovery in progress)
  '3D000' // the database does not exist (yet, or any more)
])

// Node's socket errors on connect, read or write.
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ENOENT'])

// The pg client's own words when the connection failed or timed out (it gives no code).
// ("timeout expired" is a Client's connect timing out, the pool's says "connection timeout".)
const PG_CLIENT_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|timeout expired|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable)/

export function isPgUnavailable (err: unknown): boolean {
  if (err instanceof PgUnavailableError) return true
  if (typeof err !== 'object' || err === null) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code)) return true
    if (/^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CODES.has(code) || UNAVAILABLE_CLASSES.has(code.slice(0, 2))
  }
  // net.connect to a name with several addresses fails with an AggregateError of them.
  if (err instanceof AggregateError) return err.errors.some(isPgUnavailable)
  const message = (err as { message?: unknown }).message
  return typeof message === 'string' && PG_CLIENT_MESSAGES.test(message)
}
