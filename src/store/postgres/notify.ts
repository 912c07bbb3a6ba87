// Changes another process made, heard at once: PostgreSQL's LISTEN/NOTIFY on one
// dedicated connection (a pooled one would drop the LISTEN when it is handed back).
// The committing transaction sends `pg_notify(channel)` itself, and PostgreSQL delivers
// it only at COMMIT, so a listener never hears of a change it cannot read yet. A lost
// connection is opened again with a back-off; callers keep their own slower poll for
// what is missed while it is down (a notification is not queued for a listener that
// is not connected).
import pg from 'pg'
import { connectionSettings } from './pool.ts'

const RETRY = { initialMs: 500, maxMs: 10_000 }

export interface Listener {
  /** Stops listening and closes the connection. */
  close: () => Promise<void>
}

/** Calls `onNotify` for every notification on `channel` (a fixed identifier of ours, never user input). */
export function listen (url: string, statementTimeoutMs: number, channel: string, onNotify: () => void, onError: (err: unknown) => void = () => {}): Listener {
  let client: pg.Client | undefined
  let closed = false
  let delay = RETRY.initialMs
  let timer: NodeJS.Timeout | undefined

  const connect = async (): Promise<void> => {
    if (closed) return
    const c = new pg.Client({ ...connectionSettings({ url, statementTimeoutMs }), application_name: 'pln123-cti listen' })
    c.on('notification', n => { if (n.channel === channel) onNotify() })
    c.on('error', err => { onError(err); drop(c) })
    c.on('end', () => { drop(c) })
    try {
      await c.connect()
      await c.query(`LISTEN ${channel}`)
      if (closed) { await c.end().catch(() => {}); return }
      client = c
      delay = RETRY.initialMs
      // Whatever changed while we were not listening: the caller reads once now.
      onNotify()
    } catch (err) {
      onError(err)
      drop(c)
    }
  }

  const drop = (c: pg.Client): void => {
    if (client === c) client = undefined
    c.end().catch(() => {})
    if (closed || timer !== undefined) return
    timer = setTimeout(() => { timer = undefined; void connect() }, delay)
    timer.unref()
    delay = Math.min(delay * 2, RETRY.maxMs)
  }

  void connect()
  return {
    async close () {
      closed = true
      clearTimeout(timer)
      const c = client
      client = undefined
      await c?.end().catch(() => {})
    }
  }
}
