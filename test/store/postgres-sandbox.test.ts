// The PostgreSQL test helper (test/helpers/postgres.ts) against the real server: what it
// hands out is what a DBA would (an owner role, not a superuser, a password over TCP), and
// each fault it claims to cause is seen from a client's side.
import t, { type Test } from 'tap'
import pg from 'pg'
import { needPostgres } from '../helpers/postgres.ts'

/** A connected client, ended at teardown; errors it emits (a dropped connection) are collected, not thrown. */
async function connect (t: Test, url: string, opts: pg.ClientConfig = {}): Promise<{ client: pg.Client, errors: Error[] }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, ...opts })
  const errors: Error[] = []
  client.on('error', err => { errors.push(err) })
  await client.connect()
  t.teardown(() => client.end().catch(() => {}))
  return { client, errors }
}

/** The error a new connection gets (or undefined when it connects). */
async function connectError (url: string, opts: pg.ClientConfig = {}): Promise<(Error & { code?: string }) | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, ...opts })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return undefined
  } catch (err) {
    return err as Error & { code?: string }
  } finally {
    await client.end().catch(() => {})
  }
}

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> => {
  try { await p; return undefined } catch (err) { return (err as { code?: string }).code ?? (err as Error).message }
}

t.test('the app role owns its database and is not a superuser', async t => {
  const pgc = await needPostgres(t)
  if (pgc === undefined) return
  const db = await pgc.createDatabase()
  t.teardown(db.drop)
  t.match(db.url, new RegExp(`^postgres://${db.role}:[^@]+@127\\.0\\.0\\.1:${pgc.port}/${db.name}$`), 'the URL names the role, a password, 127.0.0.1 and the database')
  const { client } = await connect(t, db.url)
  const me = await client.query<{ user: string, super: boolean, owner: string }>(
    `SELECT current_user AS user, r.rolsuper AS super, pg_get_userbyid(d.datdba) AS owner
     FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`)
  t.same(me.rows, [{ user: db.role, super: false, owner: db.role }])
  await client.query('CREATE TABLE calls (id text PRIMARY KEY, state text NOT NULL)')
  await client.query("INSERT INTO calls VALUES ('c1', 'ringing')")
  t.same((await client.query('SELECT id, state FROM calls')).rows, [{ id: 'c1', state: 'ringing' }], 'creates and uses its tables')
  t.equal(await codeOf(client.query('CREATE ROLE intruder LOGIN')), '42501', 'cannot create a role (insufficient privilege)')
  t.equal(await codeOf(client.query('CREATE DATABASE other')), '42501', 'cannot create a database')
  t.equal(await codeOf(client.query('ALTER SYSTEM SET fsync = off')), '42501', 'cannot change the server')
})

t.test('logins need the password, over TCP (no trust)', async t => {
  const pgc = await needPostgres(t)
  if (pgc === undefined) return
  const db = await pgc.createDatabase()
  t.teardown(db.drop)
  const wrong = new URL(db.url)
  wrong.password = 'not-the-password'
  t.equal((await connectError(wrong.href))?.code, '28P01', 'a wrong password is refused')
  const admin = new URL(pgc.adminUrl)
  admin.password = 'not-the-password'
  t.equal((await connectError(admin.href))?.code, '28P01', 'the superuser needs its password too')
  t.equal(await connectError(pgc.adminUrl), undefined, 'adminUrl logs in')
})

t.test('two databases do not see each other', async t => {
  const pgc = await needPostgres(t)
  if (pgc === undefined) return
  const a = await pgc.createDatabase()
  const b = await pgc.createDatabase()
  t.teardown(a.drop)
  t.teardown(b.drop)
  t.not(a.name, b.name)
  t.not(a.role, b.role)
  const ca = (await connect(t, a.url)).client
  const cb = (await connect(t, b.url)).client
  await ca.query('CREATE TABLE only_in_a (x int)')
  await ca.query('INSERT INTO only_in_a VALUES (1)')
  t.same((await ca.query("SELECT to_regclass('only_in_a') IS NOT NULL AS seen")).rows, [{ seen: true }])
  t.same((await cb.query("SELECT to_regclass('only_in_a') IS NOT NULL AS seen")).rows, [{ seen: false }], "b's database has no such table")
  const crossed = new URL(a.url)
  crossed.pathname = `/${b.name}`
  t.equal((await connectError(crossed.href))?.code, '42501', "a's role may not connect to b's database")
})

t.test('stop immediate (a crash) and start: what was committed is there, what was not is not', async t => {
  const pgc = await needPostgres(t)
  if (pgc === undefined) return
  const db = await pgc.createDatabase()
  t.teardown(db.drop)
  const { client } = await connect(t, db.url)
  await client.query('CREATE TABLE outbox (id int PRIMARY KEY)')
  await client.query('INSERT INTO outbox VALUES (1)')
  const open = (await connect(t, db.url)).client
  await open.query('BEGIN')
  await open.query('INSERT INTO outbox VALUES (2)')
  await pgc.stop('immediate')
  t.ok(await codeOf(client.query('SELECT 1')) !== undefined, 'a client of the crashed server gets an error')
  t.ok(await connectError(db.url) !== undefined, 'no new connection while stopped')
  await pgc.start()
  const { client: again } = await connect(t, db.url)
  t.same((await again.query('SELECT id FROM outbox ORDER BY id')).rows, [{ id: 1 }], 'row 1 (committed) survived, row 2 (open transaction) did not')
})

t.test('terminateConnections drops a live client', async t => {
  const pgc = await needPostgres(t)
  if (pgc === undefined) return
  const db = await pgc.createDatabase()
  const other = await pgc.createDatabase()
  t.teardown(db.drop)
  t.teardown(other.drop)
  const { client, errors } = await connect(t, db.url)
  const bystander = (await connect(t, other.url)).client
  t.same((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }])
  t.equal(await pgc.terminateConnections(db.name), 1, 'one connection terminated')
  t.ok(await codeOf(client.query('SELECT 1')) !== undefined, 'the dropped client gets an error')
  t.ok(errors.some(e => (e as { code?: string }).code === '57P01'), `it was told why (57P01, terminated by an administrator): ${errors.map(e => e.message).join(' | ')}`)
  t.same((await bystander.query('SELECT 1 AS one')).rows, [{ one: 1 }], "another database's client is untouched")
  t.equal(await connectError(db.url), undefined, 'new connections are still accepted')
  t.equal(await pgc.terminateConnections(db.name), 0, 'nothing left to terminate')
})

t.test('connectionLimit 0 refuses new connections of the app role; -1 allows them again', async t => {
  const pgc = await needPostgres(t)
  if (pgc === undefined) return
  const db = await pgc.createDatabase()
  t.teardown(db.drop)
  const { client } = await connect(t, db.url)
  await pgc.connectionLimit(db.name, 0)
  t.equal((await connectError(db.url))?.code, '53300', 'a new connection is refused (too many connections)')
  t.same((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'an existing connection keeps working')
  await pgc.connectionLimit(db.name, -1)
  t.equal(await connectError(db.url), undefined, 'connections are accepted again')
  await t.rejects(pgc.connectionLimit(db.name, -2), /must be an integer >= -1/)
})

t.test('freeze: queries hang (a client-side timeout fires); thaw lets them through', async t => {
  const pgc = await needPostgres(t)
  if (pgc === undefined) return
  const db = await pgc.createDatabase()
  t.teardown(db.drop)
  const timed = (await connect(t, db.url, { query_timeout: 500 })).client
  const patient = (await connect(t, db.url)).client
  t.teardown(() => { pgc.thaw() }) // never leave the shared cluster frozen, even when an assertion throws
  pgc.freeze()
  const started = Date.now()
  await t.rejects(timed.query('SELECT 1'), /timeout/i, 'the query times out on the client side')
  t.ok(Date.now() - started >= 400, 'it waited for the timeout, it was not refused at once')
  let answered = false
  const waiting = patient.query<{ n: number }>('SELECT 41 + 1 AS n').then(r => { answered = true; return r })
  t.ok(await connectError(db.url, { connectionTimeoutMillis: 500 }) !== undefined, 'a new connection does not get through either')
  t.notOk(answered, 'a query without a timeout is still waiting while frozen')
  pgc.thaw()
  t.same((await waiting).rows, [{ n: 42 }], 'after thaw the waiting query is answered')
  t.equal(await connectError(db.url), undefined, 'and new connections are accepted')
})
