// The PostgreSQL engine against a real server that fails: restarted (a crash), a
// connection killed, new connections refused, frozen (SIGSTOP), read-only. Every call
// made while the database cannot answer settles as a rejection that isUnavailable()
// recognises, nothing hangs, nothing crashes the process, and the same Store serves
// again once the server is back. Outcomes are asserted, never speeds.
import pg from 'pg'
import t, { type Test } from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import type { Change, Store } from '../../src/store/port.ts'
import { isPgUnavailable, openPostgresStore } from '../../src/store/postgres/index.ts'
import { needPostgres, type PgCluster } from '../helpers/postgres.ts'

const ALL = [...migrations, ...apktMigrations]
const cluster = await needPostgres(t)

const audit = (action: string): Change => ({ kind: 'audit', entry: { actor: 'test', role: 'supervisor', action, target: 't' }, at: new Date().toISOString() })
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** How a promise settled, or 'hung' when it did not within `ms` (far above every timeout of the store). */
async function settle (p: Promise<unknown>, ms = 60_000): Promise<{ ok: true } | { ok: false, err: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>(resolve => { timer = setTimeout(() => resolve('hung'), ms) })
  try {
    return await Promise.race([p.then(() => ({ ok: true as const }), (err: unknown) => ({ ok: false as const, err })), hung])
  } finally { clearTimeout(timer) }
}

/** Polls `fn` until it resolves (the server is back); fails the test after `ms`. */
async function until (t: Test, what: string, fn: () => Promise<unknown>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try { await fn(); return } catch (err) {
      if (Date.now() > deadline) { t.fail(`${what}: still failing: ${(err as Error).message}`); throw err }
      await sleep(200)
    }
  }
}

async function actions (store: Store): Promise<string[]> {
  return (await store.audit.list({ limit: 1000 })).map(r => r.action).reverse()
}

if (cluster !== undefined) {
  const open = async (t: Test, c: PgCluster): Promise<{ store: Store, name: string, url: string }> => {
    const db = await c.createDatabase()
    // A short statement timeout, so the frozen-server test is quick; the client gives up a second later.
    const store = await openPostgresStore({ url: db.url, poolSize: 3, statementTimeoutMs: 1500 }, ALL)
    t.teardown(async () => { await store.close() })
    return { store, name: db.name, url: db.url }
  }

  t.test('postgres: server crashed and restarted: calls during the outage reject as unavailable; after it the same Store works', async t => {
    const { store, url } = await open(t, cluster)
    await store.commit([audit('before')])
    await store.check() // a few connections in the pool, idle when the server dies
    await cluster.stop('immediate')
    t.teardown(async () => { await cluster.start() })
    for (const [what, p] of [
      ['commit', settle(store.commit([audit('during')]))],
      ['check', settle(store.check())],
      ['a read', settle(store.audit.list())],
      ['claimDue', settle(store.outbox.claimDue({ now: new Date(), limit: 5, owner: 'd', leaseMs: 1000 }))]
    ] as const) {
      const got = await p
      t.not(got, 'hung', `${what} settles while the server is down`)
      if (got !== 'hung') {
        t.equal(got.ok, false, `${what} rejects`)
        if (!got.ok) t.equal(store.isUnavailable(got.err), true, `${what}: unavailable (${(got.err as Error).message})`)
      }
    }
    const opening = await settle(openPostgresStore({ url, poolSize: 2 }, ALL))
    t.ok(opening !== 'hung' && !opening.ok && isPgUnavailable(opening.err), 'opening a Store while the server is down rejects as unavailable')
    await cluster.start()
    await until(t, 'check after restart', async () => { await store.check() })
    await t.resolves(store.commit([audit('after')]), 'a commit succeeds again, same Store')
    t.strictSame(await actions(store), ['before', 'after'], 'what was committed before the crash survived; nothing of the outage landed')
    t.equal(store.open, true)
  })

  t.test('postgres: connections killed by the server (idle and in a transaction): no crash, the next calls work', async t => {
    const { store, name } = await open(t, cluster)
    await Promise.all([store.commit([audit('one')]), store.audit.list(), store.outbox.stats(new Date())])
    const killed = await cluster.terminateConnections(name)
    t.ok(killed >= 1, `the pool's idle connections were terminated (${killed})`)
    await sleep(200) // the idle clients' 'error' events arrive: they must not crash the process
    // A call right after may meet a connection whose end it had not seen yet: then it
    // rejects as unavailable; the one after works.
    const first = await settle(store.commit([audit('two')]))
    t.not(first, 'hung')
    if (first !== 'hung' && !first.ok) t.equal(store.isUnavailable(first.err), true, `first call after: unavailable (${(first.err as Error).message})`)
    await t.resolves(store.commit([audit('three')]), 'the next commit works')
    // Killed in the middle of a query: a statement the server is running when the backend dies.
    const c = new pg.Client({ connectionString: cluster.adminUrl.replace(/\/[^/?]*(\?|$)/, `/${name}$1`) })
    await c.connect()
    t.teardown(async () => { await c.end().catch(() => {}) })
    c.on('error', () => {})
    await c.query('BEGIN; LOCK TABLE audit IN ACCESS EXCLUSIVE MODE')
    const blocked = settle(store.commit([audit('blocked')])) // waits on the lock
    await sleep(300)
    await cluster.terminateConnections(name)
    const got = await blocked
    t.not(got, 'hung', 'a commit whose connection was killed mid-statement settles')
    if (got !== 'hung' && !got.ok) t.equal(store.isUnavailable(got.err), true, `and is unavailable (${(got.err as Error).message})`)
    await until(t, 'commit after kill', async () => { await store.commit([audit('four')]) })
    t.ok((await actions(store)).includes('four'))
  })

  t.test('postgres: new connections refused (connection limit 0): unavailable; allowed again: works', async t => {
    const { store, name } = await open(t, cluster)
    await store.commit([audit('one')])
    await cluster.connectionLimit(name, 0)
    t.teardown(async () => { await cluster.connectionLimit(name, -1) })
    await cluster.terminateConnections(name)
    await sleep(200)
    let sawRefusal = false
    for (let i = 0; i < 3; i++) {
      const got = await settle(store.commit([audit(`refused-${i}`)]))
      t.not(got, 'hung')
      if (got === 'hung') break
      t.equal(got.ok, false, 'rejects while no connection is allowed')
      if (!got.ok) {
        t.equal(store.isUnavailable(got.err), true, `unavailable (${(got.err as { code?: string }).code ?? ''} ${(got.err as Error).message})`)
        if ((got.err as { code?: string }).code === '53300') sawRefusal = true
      }
    }
    t.ok(sawRefusal, 'the server said too many connections (53300)')
    await t.rejects(store.check(), 'check() rejects too')
    await cluster.connectionLimit(name, -1)
    await t.resolves(store.commit([audit('two')]), 'works again, same Store')
    t.strictSame(await actions(store), ['one', 'two'])
  })

  t.test('postgres: the database read-only: a commit rejects as unavailable (25006); writable again: works', async t => {
    const { store, name } = await open(t, cluster)
    const admin = new pg.Client({ connectionString: cluster.adminUrl })
    await admin.connect()
    t.teardown(async () => { await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} RESET default_transaction_read_only`).catch(() => {}); await admin.end() })
    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} SET default_transaction_read_only = on`)
    await cluster.terminateConnections(name) // the setting applies to new sessions
    await sleep(200)
    await until(t, 'a read while read-only', async () => { await store.audit.list() })
    const got = await settle(store.commit([audit('ro')]))
    t.not(got, 'hung')
    if (got !== 'hung') {
      t.equal(got.ok, false, 'rejects')
      if (!got.ok) {
        t.match(got.err, { code: '25006' })
        t.equal(store.isUnavailable(got.err), true, 'unavailable')
      }
    }
    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(name)} RESET default_transaction_read_only`)
    await cluster.terminateConnections(name)
    await until(t, 'commit when writable', async () => { await store.commit([audit('rw')]) })
    t.strictSame(await actions(store), ['rw'])
  })

  t.test('postgres: server frozen (SIGSTOP): calls settle as unavailable, none hangs; after thaw the same Store works', async t => {
    const { store, url } = await open(t, cluster)
    const other = await openPostgresStore({ url, poolSize: 2, statementTimeoutMs: 1500 }, ALL)
    await other.check() // a connection open in its pool when the server freezes
    await store.commit([audit('before')])
    cluster.freeze()
    t.teardown(() => { cluster.thaw() })
    const calls = await Promise.all([
      settle(store.commit([audit('frozen')])),
      settle(store.check()),
      settle(store.audit.list()),
      settle(store.outbox.claimDue({ now: new Date(), limit: 5, owner: 'd', leaseMs: 1000 }))
    ])
    for (const [i, got] of calls.entries()) {
      t.not(got, 'hung', `call ${i} settles while the server is frozen`)
      if (got !== 'hung') {
        t.equal(got.ok, false, `call ${i} rejects`)
        if (!got.ok) t.equal(store.isUnavailable(got.err), true, `call ${i}: unavailable (${(got.err as Error).message})`)
      }
    }
    // Opening a Store (its migrations' connection) on the frozen server fails too, as unavailable.
    const opening = await settle(openPostgresStore({ url, poolSize: 2, statementTimeoutMs: 1500 }, ALL))
    t.not(opening, 'hung', 'opening settles while the server is frozen')
    if (opening !== 'hung') {
      t.equal(opening.ok, false, 'opening rejects')
      if (!opening.ok) t.equal(isPgUnavailable(opening.err), true, `opening: unavailable (${(opening.err as Error).message})`)
    }
    // Another Store, its pool holding an idle connection, closed while the server is frozen:
    // close() settles too (a shutdown must not hang on the goodbye nobody answers).
    const closing = await settle(other.close())
    t.not(closing, 'hung', 'close() settles while the server is frozen')
    t.equal(other.open, false)
    cluster.thaw()
    await until(t, 'check after thaw', async () => { await store.check() })
    await t.resolves(store.commit([audit('after')]), 'a commit succeeds after thaw, same Store')
    const seen = await actions(store)
    t.equal(seen[0], 'before')
    t.equal(seen.at(-1), 'after')
    // The frozen commit's COMMIT may or may not have reached the server: either outcome
    // is allowed (the caller was told "unavailable", not "failed"), but never twice.
    t.ok(seen.filter(a => a === 'frozen').length <= 1)
  })
}
