// The Store contract (contract.ts) on the PostgreSQL engine, plus what only PostgreSQL
// has: several processes migrating one database at once, the non-superuser owner role,
// and several claimers on several Stores sharing one outbox. A real throwaway cluster
// (test/helpers/postgres.ts); one database per test.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import t from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { buildApktRecord } from '../../src/apkt/record.ts'
import { migrations } from '../../src/store/migrations.ts'
import type { Change, Store } from '../../src/store/port.ts'
import { isPgUnavailable, openPostgresStore, PgUnavailableError } from '../../src/store/postgres/index.ts'
import { needPostgres } from '../helpers/postgres.ts'
import { storeContract } from './contract.ts'

const ALL = [...migrations, ...apktMigrations]
const VERSIONS = ALL.map(m => m.version).sort((a, b) => a - b)

// The classifier on the codes a test server cannot easily be made to produce (the
// others are produced for real in postgres-faults.test.ts).
t.test('postgres: isUnavailable: the server cannot take it now, by SQLSTATE and by the client\'s own errors; bugs stay bugs', async t => {
  const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code })
  for (const code of ['53100', '53200', '53300', '57P01', '57P02', '57P03', '57014', '25006', '08006', '08001', '58030', '40P01', '40001', '55P03', '3D000', '28P01', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']) {
    t.equal(isPgUnavailable(withCode(code)), true, code)
  }
  for (const message of ['Connection terminated unexpectedly', 'Connection terminated due to connection timeout', 'timeout exceeded when trying to connect', 'timeout expired', 'Query read timeout']) {
    t.equal(isPgUnavailable(new Error(message)), true, message)
  }
  t.equal(isPgUnavailable(new PgUnavailableError('no connection')), true)
  t.equal(isPgUnavailable(new AggregateError([withCode('ECONNREFUSED')])), true, 'every address refused')
  for (const code of ['42601', '42P01', '23505', '23502', '23514', '22P02', '22P05', '42703', 'XX000', 'ERR_INVALID_ARG_TYPE']) {
    t.equal(isPgUnavailable(withCode(code)), false, `${code} is a bug`)
  }
  for (const err of [new Error('a bug'), new TypeError('x'), undefined, null, 'string', 53300]) t.equal(isPgUnavailable(err), false, String(err))
})

const cluster = await needPostgres(t)

if (cluster !== undefined) {
  const urls = new WeakMap<Store, string>()
  const openAt = async (url: string, extra: { statementTimeoutMs?: number } = {}): Promise<Store> => {
    const store = await openPostgresStore({ url, poolSize: 4, ...extra }, ALL)
    urls.set(store, url)
    return store
  }
  const fresh = async (): Promise<{ url: string, name: string, role: string }> => await cluster.createDatabase()

  storeContract(t, 'postgres', async () => await openAt((await fresh()).url), {
    openAnother: async s => await openAt(urls.get(s) as string)
  })

  const query = async <R extends pg.QueryResultRow> (url: string, sql: string, params: unknown[] = []): Promise<R[]> => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try { return (await c.query<R>(sql, params)).rows } finally { await c.end() }
  }

  t.test('postgres: opened as the database\'s owner, a role that is not a superuser; where names no password', async t => {
    const db = await fresh()
    const store = await openAt(db.url)
    t.teardown(async () => { await store.close() })
    t.strictSame(store.migrated, VERSIONS, 'every migration applied by the owner role')
    const [me] = await query<{ rolsuper: boolean, rolcreaterole: boolean, rolcreatedb: boolean, user: string }>(db.url,
      'SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, current_user AS user FROM pg_roles r WHERE r.rolname = current_user')
    t.equal(me?.user, db.role)
    t.equal(me?.rolsuper, false, 'not a superuser')
    const password = decodeURIComponent(new URL(db.url).password)
    t.ok(password.length > 0, 'the URL has a password')
    t.equal(store.where, `${cluster.host}:${cluster.port}/${db.name}`)
    t.notOk(store.where.includes(password), 'where names no password')
    await t.resolves(store.check())
    const [meta] = await query<{ value: string }>(db.url, "SELECT value FROM service_meta WHERE key = 'last_health_check'")
    t.equal(meta?.value, 'ok', 'check() is a write')
  })

  t.test('postgres: reopening a current database applies nothing; a database newer than the code is refused, untouched', async t => {
    const db = await fresh()
    await (await openAt(db.url)).close()
    const again = await openAt(db.url)
    t.strictSame(again.migrated, [])
    await again.close()
    // Versions from the code, not written here: each new migration would break the numbers.
    const newest = Math.max(...ALL.map(m => m.version))
    const older = ALL.filter(m => m.version < newest)
    await t.rejects(openPostgresStore({ url: db.url, poolSize: 2 }, older), { name: 'StoreVersionError', code: 'STORE_TOO_NEW', found: newest, known: Math.max(...older.map(m => m.version)) })
    await query(db.url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (42, 'from the future', '2027-01-01T00:00:00.000Z')")
    const err = await openPostgresStore({ url: db.url, poolSize: 2 }, ALL).then(() => undefined, (e: unknown) => e)
    t.match(err, { name: 'StoreVersionError', code: 'STORE_TOO_NEW', found: 42, known: newest })
    t.notOk(String((err as Error).message).includes(decodeURIComponent(new URL(db.url).password)), 'the message names no password')
    const rows = await query<{ version: number }>(db.url, 'SELECT version FROM schema_migrations ORDER BY version')
    t.strictSame(rows.map(r => r.version), [...VERSIONS, 42], 'nothing applied or removed')
  })

  t.test('postgres: a failing migration leaves the database as it was (one transaction)', async t => {
    const db = await fresh()
    const broken = [...ALL.filter(m => m.version <= 5), { version: 6, name: 'broken', sql: 'x', postgres: 'CREATE TABLE ok_so_far (x int); SELECT * FROM no_such_table;' }]
    await t.rejects(openPostgresStore({ url: db.url, poolSize: 2 }, broken), { code: '42P01' })
    const tables = await query<{ n: string }>(db.url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")
    t.equal(Number(tables[0]?.n), 0, 'no table of any migration left behind')
  })

  t.test('postgres: several processes and Stores migrating one empty database at once do not collide', async t => {
    const db = await fresh()
    const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url))
    // Each child opens the store when it reads "go" on stdin, so they start together.
    const code = `
      import { openPostgresStore } from ${JSON.stringify(here('../../src/store/postgres/index.ts'))}
      import { migrations } from ${JSON.stringify(here('../../src/store/migrations.ts'))}
      import { apktMigrations } from ${JSON.stringify(here('../../src/apkt/migrations.ts'))}
      process.stdout.write('ready\\n')
      process.stdin.once('data', async () => {
        try {
          const s = await openPostgresStore({ url: process.env.URL, poolSize: 1 }, [...migrations, ...apktMigrations])
          process.stdout.write(JSON.stringify({ ok: true, migrated: s.migrated }) + '\\n')
          await s.close()
        } catch (err) {
          process.stdout.write(JSON.stringify({ ok: false, error: String(err && err.stack || err), code: err && err.code }) + '\\n')
        }
        process.exit(0)
      })`
    const children = [0, 1, 2].map(() => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, URL: db.url }, stdio: ['pipe', 'pipe', 'inherit'] })
      let out = ''
      const ready = new Promise<void>(resolve => { child.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready\n')) resolve() }) })
      const done = new Promise<{ ok: boolean, migrated?: number[], error?: string }>((resolve, reject) => {
        child.once('exit', () => {
          const line = out.split('\n').find(l => l.startsWith('{'))
          if (line === undefined) reject(new Error(`child said: ${out}`)); else resolve(JSON.parse(line))
        })
      })
      return { child, ready, done }
    })
    await Promise.all(children.map(c => c.ready))
    for (const c of children) c.child.stdin.write('go\n')
    // ... and two Stores in this process at the same moment.
    const here2 = await Promise.allSettled([openAt(db.url), openAt(db.url)])
    const results = [...await Promise.all(children.map(c => c.done)),
      ...here2.map(r => r.status === 'fulfilled' ? { ok: true, migrated: r.value.migrated } : { ok: false, error: String(r.reason) })]
    for (const r of here2) if (r.status === 'fulfilled') await r.value.close()
    for (const r of results) t.ok(r.ok, r.error ?? 'opened')
    const applied = results.flatMap(r => r.migrated ?? []).sort((a, b) => a - b)
    t.strictSame(applied, VERSIONS, 'every migration applied once, by one of them')
    t.equal(results.filter(r => (r.migrated ?? []).length > 0).length, 1, 'by one opener; the others found the schema current')
    const rows = await query<{ version: number }>(db.url, 'SELECT version FROM schema_migrations ORDER BY version')
    t.strictSame(rows.map(r => r.version), VERSIONS)
  })

  t.test('postgres: a bug is not unavailability: a constraint violation and a syntax error; nothing of the failed batch applied', async t => {
    const db = await fresh()
    const store = await openAt(db.url)
    t.teardown(async () => { await store.close() })
    const r = (id: string, callId: string) => buildApktRecord({
      callId, agentId: '1001', topic: 'activation', id, at: new Date(),
      apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'P' },
      customer: { name: 'Budi' }, unit: 'U', unitPelayanan: 'UP'
    })
    await store.commit([{ kind: 'apktRecord', record: r('same-id', 'c1'), outcomeKey: 'c1:transfer', at: new Date().toISOString() }])
    const err = await store.commit([
      { kind: 'audit', entry: { actor: 'a', role: 'agent', action: 'x', target: 't' }, at: new Date().toISOString() },
      { kind: 'apktRecord', record: r('same-id', 'c2'), outcomeKey: 'c2:transfer', at: new Date().toISOString() }
    ]).then(() => undefined, (e: unknown) => e)
    t.match(err, { code: '23505' }, 'a second record with the same id is a unique violation')
    t.equal(store.isUnavailable(err), false, 'a constraint violation is a bug')
    t.strictSame(await store.audit.list(), [], 'the audit entry of the failed batch was not applied')
    const syntax = await query(db.url, 'SELEC 1').then(() => undefined, (e: unknown) => e)
    t.match(syntax, { code: '42601' })
    t.equal(store.isUnavailable(syntax), false, 'a syntax error is a bug')
    await t.resolves(store.commit([{ kind: 'audit', entry: { actor: 'a', role: 'agent', action: 'y', target: 't' }, at: new Date().toISOString() }]), 'the store goes on')
  })

  t.test('postgres: two Stores adding records of the same agents in opposite orders at once: no deadlock, every batch lands', async t => {
    const db = await fresh()
    const [s1, s2] = await Promise.all([openAt(db.url), openAt(db.url)]) as [Store, Store]
    t.teardown(async () => { await s1.close(); await s2.close() })
    const agents = ['1001', '1002', '1003', '1004']
    let k = 0
    const batch = (order: string[]): Change[] => order.map(agentId => {
      const callId = `call-${++k}`
      const rec = buildApktRecord({
        callId, agentId, topic: 'activation', at: new Date(),
        apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'P' },
        customer: { name: 'Budi' }, unit: 'U', unitPelayanan: 'UP'
      })
      return { kind: 'apktRecord', record: rec, outcomeKey: `${callId}:transfer`, at: new Date().toISOString() }
    })
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => [
      s1.commit(batch(agents)),
      s2.commit(batch([...agents].reverse())),
      (i % 2 === 0 ? s1 : s2).commit(batch([agents[2] as string, agents[0] as string]))
    ]).flat())
    const failed = results.filter(r => r.status === 'rejected').map(r => String((r as PromiseRejectedResult).reason))
    t.strictSame(failed, [], 'no batch failed (a deadlock would be 40P01)')
    t.equal((await s1.outbox.stats(new Date())).pending, 40 * 10)
  })

  t.test('postgres: 4 Stores claim and deliver 500 records of 20 agents at once: each delivered once, each agent in order', async t => {
    const db = await fresh()
    const stores = await Promise.all([0, 1, 2, 3].map(async () => await openAt(db.url)))
    t.teardown(async () => { for (const s of stores) await s.close() })
    const agents = Array.from({ length: 20 }, (_, i) => `agent-${i}`)
    const created = new Map<string, string[]>(agents.map(a => [a, []]))
    const t0 = Date.now() - 60_000
    const changes: Change[] = []
    for (let i = 0; i < 500; i++) {
      const agentId = agents[(i * 7 + Math.floor(i / 13)) % agents.length] as string // uneven interleaving
      const rec = buildApktRecord({
        callId: `call-${i}`, agentId, topic: 'activation', at: new Date(t0 + i),
        apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'P' },
        customer: { name: 'Budi' }, unit: 'U', unitPelayanan: 'UP'
      })
      changes.push({ kind: 'apktRecord', record: rec, outcomeKey: `call-${i}:transfer`, at: new Date(t0 + i).toISOString() })
      created.get(agentId)?.push(rec.id)
    }
    // In several batches, from several Stores, as an HA group would write them.
    for (let k = 0; k < changes.length; k += 50) await stores[(k / 50) % stores.length]?.commit(changes.slice(k, k + 50))

    const claimedBy = new Map<string, string[]>() // id -> owners that got it
    const order = new Map<string, string[]>(agents.map(a => [a, []])) // agent -> ids in the order handed out
    const dispatcher = async (store: Store, owner: string): Promise<void> => {
      for (let idle = 0; idle < 20;) {
        const got = await store.outbox.claimDue({ now: new Date(), limit: 7, owner, leaseMs: 600_000 })
        if (got.length === 0) { idle++; await new Promise(resolve => setTimeout(resolve, 5)); continue }
        idle = 0
        for (const e of got) {
          claimedBy.set(e.id, [...claimedBy.get(e.id) ?? [], owner])
          order.get(e.agentId)?.push(e.id)
        }
        await Promise.all(got.map(async e => { await store.outbox.markDelivered(e.id, new Date()) }))
        // The live feed reads the counts after each delivery: several Stores fold the
        // count deltas at the same moments.
        await store.outbox.stats(new Date())
      }
    }
    await Promise.all(stores.flatMap((s, i) => [dispatcher(s, `owner-${i}a`), dispatcher(s, `owner-${i}b`)]))

    t.equal(claimedBy.size, 500, 'every record handed out')
    t.equal([...claimedBy.values()].filter(o => o.length !== 1).length, 0, 'none handed out twice')
    t.ok(new Set([...claimedBy.values()].map(o => o[0])).size > 1, 'more than one claimer took part')
    for (const a of agents) t.strictSame(order.get(a), created.get(a), `${a}: handed out in creation order`)
    const stats = await stores[0]?.outbox.stats(new Date())
    t.match(stats, { pending: 0, delivered: 500, dead: 0, oldestPendingAgeMs: null })
    const byStatus = await query<{ status: string, n: string }>(db.url, 'SELECT status, count(*) AS n FROM apkt_records GROUP BY status')
    t.strictSame(byStatus.map(r => [r.status, Number(r.n)]), [['delivered', 500]], 'the counts are the records\' (folds lost nothing)')
    const deltas = await query<{ n: string }>(db.url, 'SELECT count(*) AS n FROM apkt_count_deltas')
    t.ok(Number(deltas[0]?.n) < 300, `the count deltas were folded (${deltas[0]?.n ?? '?'} rows left after 500 deliveries)`)
    const attempts = await query<{ n: string }>(db.url, "SELECT count(*) AS n FROM apkt_records WHERE attempts <> 1 OR claimed_by IS NOT NULL")
    t.equal(Number(attempts[0]?.n), 0, 'one attempt each, no claim left')
  })
}
