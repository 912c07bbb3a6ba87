// The group runner (src/ha/runner.ts) in process, alone in its group, on a real
// PostgreSQL: active once it holds the lease; when its database refuses it (connections
// terminated, new ones refused) it cannot renew, stands down before the lease runs out
// and serves the standby app on the same port; once the database takes it again it is
// active again, with a full service built anew; a stop gives the lease up.
import t from 'tap'
import pino from 'pino'
import pg from 'pg'
import { GroupRunner } from '../../src/ha/runner.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { testConfig } from '../helpers/config.ts'
import { eventually } from '../helpers/ami.ts'
import { needPostgres } from '../helpers/postgres.ts'
import { asteriskLike, http } from '../faults/lib.ts'
import { freePort } from '../pbx/sandbox.ts'

const LEASE_MS = 2000

t.test('alone in its group: active; the database refuses it: standby app on the port; the database back: active again; stop: lease released', async t => {
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const db = await cluster.createDatabase()
  t.teardown(async () => { await cluster.connectionLimit(db.name, -1).catch(() => {}); await db.drop().catch(() => {}) })
  const fake = await FakeAmi.start({ handler: asteriskLike() })
  t.teardown(async () => { await fake.stop() })
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const config = testConfig(fake.port, raw => {
    raw.http.port = port
    raw.http.shutdownTimeoutMs = 3000
    raw.ha = { instanceId: 'solo', advertiseUrl: base, leaseMs: LEASE_MS }
  }, { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url })
  const fatal: Error[] = []
  const runner = new GroupRunner(config, pino({ level: 'silent' }), { onFatal: err => { fatal.push(err) } })
  let stopped = false
  t.teardown(async () => { if (!stopped) await runner.stop() })
  await runner.start()
  const role = async (): Promise<string | undefined> => {
    const r = await http(base, 'GET', '/readyz', undefined, undefined, 2000)
    // A standby that cannot reach the database knows no active: 503 no-active, role standby.
    return (r.body as { role?: string } | undefined)?.role ?? `${r.status}`
  }
  await eventually('active', async () => await role() === 'active', 20_000)
  t.pass('active once it took the lease (the full service on the port)')
  const loginsBefore = fake.actionsNamed('login').length
  t.ok(loginsBefore >= 1, 'logged into AMI')

  // The database refuses this instance: its renewals fail, it stands down by its own clock.
  await cluster.connectionLimit(db.name, 0)
  await cluster.terminateConnections(db.name)
  await eventually('standby while the database refuses it', async () => await role() === 'standby', 20_000)
  t.pass('stood down: the standby app answers on the same port')
  t.equal(fake.sockets.size, 0, 'its AMI session is closed')

  // The database takes it again: the lease (a new epoch) and a new full service.
  await cluster.connectionLimit(db.name, -1)
  await eventually('active again', async () => await role() === 'active', 30_000)
  t.ok(fake.actionsNamed('login').length > loginsBefore, 'logged into AMI again')
  t.same(fatal, [], 'nothing fatal')

  // A stop of the active gives the lease up.
  await runner.stop()
  stopped = true
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    const r = await client.query<{ holder: string | null, epoch: string }>("SELECT holder, epoch FROM ha_lease WHERE name = 'active'")
    t.equal(r.rows[0]?.holder, null, 'the lease is released at stop')
    t.ok(Number(r.rows[0]?.epoch) >= 2, `taken again with a new epoch after the outage (epoch ${r.rows[0]?.epoch})`)
  } finally { await client.end() }
  t.equal((await http(base, 'GET', '/healthz', undefined, undefined, 1000)).status, 0, 'the port is closed')
})

// Two runners in one process (the event loop shared, the database roles not): the active
// alone loses the database (its role's connections terminated, new ones refused), as on
// a network partition of its host. The other takes over within leaseMs + 3 s; the old one
// stands down; once the database takes it again it stays standby (the lease moved on).
t.test('the active alone loses the database: the other takes over; back, the old one stays standby', async t => {
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const db = await cluster.createDatabase()
  const roleB = `${db.name}_b`
  const passwordB = 'pw-b-0123456789abcdef'
  const admin = new pg.Client({ connectionString: cluster.adminUrl })
  await admin.connect()
  const esc = pg.escapeIdentifier
  await admin.query(`CREATE ROLE ${esc(roleB)} LOGIN PASSWORD ${pg.escapeLiteral(passwordB)} IN ROLE ${esc(db.role)}`)
  // Objects it creates belong to the owner, as the other instance's do.
  await admin.query(`ALTER ROLE ${esc(roleB)} IN DATABASE ${esc(db.name)} SET role = ${pg.escapeLiteral(db.role)}`)
  t.teardown(async () => {
    await db.drop().catch(() => {})
    await admin.query(`DROP ROLE IF EXISTS ${esc(roleB)}`).catch(() => {})
    await admin.end()
  })
  const urlB = new URL(db.url)
  urlB.username = roleB
  urlB.password = passwordB

  const start = async (id: string, url: string) => {
    const fake = await FakeAmi.start({ handler: asteriskLike() })
    t.teardown(async () => { await fake.stop() })
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const config = testConfig(fake.port, raw => {
      raw.http.port = port
      raw.http.shutdownTimeoutMs = 3000
      raw.ha = { instanceId: id, advertiseUrl: base, leaseMs: LEASE_MS }
    }, { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: url })
    const runner = new GroupRunner(config, pino({ level: 'silent' }), { onFatal: () => {} })
    t.teardown(async () => { await runner.stop() })
    await runner.start()
    const role = async (): Promise<string | undefined> => {
      const r = await http(base, 'GET', '/readyz', undefined, undefined, 2000)
      // A standby that cannot reach the database knows no active: 503 no-active, role standby.
    return (r.body as { role?: string } | undefined)?.role ?? `${r.status}`
    }
    return { fake, role }
  }
  const b = await start('cti-b', urlB.toString())
  await eventually('b active', async () => await b.role() === 'active', 20_000)
  const a = await start('cti-a', db.url)
  await eventually('a standby', async () => await a.role() === 'standby', 20_000)
  t.equal(await b.role(), 'active', 'b active, a standby')

  await admin.query(`ALTER ROLE ${esc(roleB)} CONNECTION LIMIT 0`)
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [roleB])
  const cutAt = Date.now()
  await eventually('a active', async () => await a.role() === 'active', 20_000)
  const takeoverMs = Date.now() - cutAt
  t.ok(takeoverMs <= LEASE_MS + 3000, `a took over ${takeoverMs} ms after b lost the database (bound ${LEASE_MS + 3000} ms)`)
  await eventually('b standby', async () => await b.role() === 'standby', 20_000)
  t.pass('b stood down')
  t.equal(b.fake.sockets.size, 0, 'b holds no AMI session')
  t.ok(a.fake.actionsNamed('login').length >= 1, 'a logged into AMI')

  await admin.query(`ALTER ROLE ${esc(roleB)} CONNECTION LIMIT -1`)
  await new Promise(resolve => setTimeout(resolve, LEASE_MS * 1.5)) // b reaches the database again and tries for the lease
  t.same([await a.role(), await b.role()], ['active', 'standby'], 'b back: it stays standby, a stays active')
  t.equal(b.fake.sockets.size, 0, 'b still holds no AMI session')
})
