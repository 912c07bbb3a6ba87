// The connection pool and its timeouts. Client: `pg` (node-postgres 8.x) rather than
// `postgres` (porsager): it is the most used PostgreSQL client for Node (the one the
// ecosystem's tools and answers assume), pure JS (no native build on the PBX host), its
// Pool is explicit about checkout and release (a transaction is one checked-out client,
// visible in the code), and it has per-connection and per-query timeouts we need against
// a frozen server: connectionTimeoutMillis (connect and checkout), query_timeout (client
// side: rejects even when the server never answers), and statement_timeout /
// idle_in_transaction_session_timeout sent at connect (server side). `postgres` is
// faster by pipelining, which matters less here: commits are serialized on purpose.
//
// Every failure of the server (restart, killed connection, refused connection, timeout)
// surfaces as a rejection of the call that met it; the pool drops that connection and
// opens a new one at the next call, so the store recovers without being reopened.
import pg from 'pg'
import { PgUnavailableError } from './errors.ts'

export interface PgLog {
  warn: (obj: object, msg: string) => void
}

export interface PoolOptions {
  url: string
  poolSize: number
  /** Server-side limit per statement, and (plus a margin) the client-side limit per query. */
  statementTimeoutMs: number
  log?: PgLog
}

/** How long after the server's statement_timeout the client gives up waiting itself. */
const CLIENT_MARGIN_MS = 1000

export type PgClient = pg.PoolClient

export function connectionSettings (opts: Pick<PoolOptions, 'url' | 'statementTimeoutMs'>): pg.ClientConfig {
  return {
    connectionString: opts.url,
    application_name: 'pln123-cti',
    // A connect that the server never answers (frozen, or a black-holed host) fails here.
    connectionTimeoutMillis: Math.max(1000, opts.statementTimeoutMs),
    statement_timeout: opts.statementTimeoutMs,
    // A process frozen mid-transaction must not hold its row locks (and an outbox claim's
    // FOR UPDATE) forever: the server ends that session.
    idle_in_transaction_session_timeout: opts.statementTimeoutMs * 4,
    lock_timeout: opts.statementTimeoutMs,
    query_timeout: opts.statementTimeoutMs + CLIENT_MARGIN_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000
  }
}

export interface Pool {
  pool: pg.Pool
  /** Ends the pool; on a server that does not answer the goodbye, drops the sockets after `ms`. */
  end: (ms: number) => Promise<void>
}

export function createPool (opts: PoolOptions): Pool {
  const pool = new pg.Pool({
    ...connectionSettings(opts),
    max: opts.poolSize,
    idleTimeoutMillis: 30_000
  })
  // An idle client whose server went away emits 'error' on the pool; without a
  // listener that would crash the process. The pool already dropped the client.
  pool.on('error', err => { opts.log?.warn({ err: errorSummary(err) }, 'postgres: idle connection lost') })
  // A checked-out client can also emit 'error' between two queries of a transaction
  // (the query that follows rejects, and the client is then released as broken).
  const clients = new Set<pg.PoolClient>()
  pool.on('connect', client => {
    client.on('error', () => {})
    clients.add(client)
    client.once('end', () => { clients.delete(client) })
  })
  return {
    pool,
    async end (ms) {
      // pool.end() waits for each connection to close. A frozen server's kernel still
      // closes the socket (the test sees close() settle), but a host gone from the
      // network never does, and a shutdown must not hang on it: bounded, then dropped.
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>(resolve => { timer = setTimeout(() => resolve('late'), ms) })
      try {
        if (await Promise.race([pool.end().then(() => 'ended' as const), late]) === 'late') {
          for (const c of clients) (c as unknown as { connection?: { stream?: { destroy: () => void } } }).connection?.stream?.destroy()
        }
      } finally { clearTimeout(timer) }
    }
  }
}

export function errorSummary (err: unknown): { code?: string, message: string } {
  const e = err as { code?: unknown, message?: unknown }
  return { ...(typeof e.code === 'string' ? { code: e.code } : {}), message: typeof e.message === 'string' ? e.message : String(err) }
}

/**
 * Runs `fn` in one transaction on one checked-out client. A failed transaction's
 * connection is destroyed, not returned: after a timeout it may still carry a query
 * the server never answered, and a new connection is cheap next to a wrong state.
 */
export async function transaction<T> (pool: pg.Pool, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await checkout(pool)
  try {
    await client.query('BEGIN')
    const result = await fn(client)
    await client.query('COMMIT')
    client.release()
    return result
  } catch (err) {
    client.release(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/**
 * One statement as its own transaction (PostgreSQL commits a lone statement by itself,
 * with the same durability): one round trip where BEGIN, the statement and COMMIT are
 * three. The connection is destroyed after a failure, as transaction() does.
 */
export async function autocommit (pool: pg.Pool, statement: { text: string, values: unknown[] }): Promise<void> {
  const client = await checkout(pool)
  try {
    await client.query(statement.text, statement.values)
    client.release()
  } catch (err) {
    client.release(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/** A pool checkout that fails as "unavailable" when the pool itself times out. */
export async function checkout (pool: pg.Pool): Promise<PgClient> {
  try {
    return await pool.connect()
  } catch (err) {
    if (err instanceof Error && /timeout/i.test(err.message) && (err as { code?: unknown }).code === undefined) {
      throw new PgUnavailableError(`postgres: no connection: ${err.message}`, { cause: err })
    }
    throw err
  }
}
