// The HA group's lease on a real PostgreSQL (src/ha/lease.ts, src/store/postgres/lease.ts):
// at most one instance may act at any moment; a dead holder's lease is taken once it
// has run out by the database's clock, with a new epoch; a holder that cannot reach
// the database stops acting by its own clock before its lease can run out; and a commit
// fenced with a stale epoch writes nothing. Two stores on one database stand for two
// instances. Outcomes are asserted, never speeds.
import t, { type Test } from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { LeaseKeeper } from '../../src/ha/lease.ts'
import { silentLog } from '../../src/log.ts'
import { migrations } from '../../src/store/migrations.ts'
import type { Change, Store } from '../../src/store/port.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { needPostgres } from '../helpers/postgres.ts'

const ALL = [...migrations, ...apktMigrations]
const cluster = await needPostgres(t)
const LEASE_MS = 1500
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const audit = (action: string): Change => ({ kind: 'audit', entry: { actor: 'test', role: 'system', action, target: 't' }, at: new Date().toISOString() })

async function twoInstances (t: Test): Promise<[Store, Store]> {
  const db = await cluster!.createDatabase()
  const a = await openPostgresStore({ url: db.url, poolSize: 2, statementTimeoutMs: 1000 }, ALL)
  const b = await openPostgresStore({ url: db.url, poolSize: 2, statementTimeoutMs: 1000 }, ALL)
  t.teardown(async () => { await a.close().catch(() => {}); await b.close().catch(() => {}); await db.drop().catch(() => {}) })
  return [a, b]
}
const keeper = (store: Store, id: string): LeaseKeeper => new LeaseKeeper({ port: store.group!.lease, instanceId: id, advertiseUrl: `http://${id}:8123`, leaseMs: LEASE_MS, log: silentLog })
const actions = async (store: Store): Promise<string[]> => (await store.audit.list()).map(r => r.action)

t.test('one holder; a dead holder\'s lease is taken after it ran out, with a new epoch; the old epoch\'s commits write nothing', async t => {
  const [sa, sb] = await twoInstances(t)
  const a = keeper(sa, 'cti-a')
  const b = keeper(sb, 'cti-b')
  await a.tick()
  await b.tick()
  t.equal(a.currentRole, 'active')
  t.equal(b.currentRole, 'standby', 'the second instance finds the lease held')
  const first = a.fence()
  t.ok(first !== undefined && first.epoch >= 1, 'the active has a fencing token')
  sa.group!.fenceWith(() => a.fence())
  sb.group!.fenceWith(() => b.fence())
  await sa.commit([audit('by-a-while-active')])
  await t.rejects(sb.commit([audit('by-b-while-standby')]), { name: 'FencedError' }, 'a standby writes nothing')

  // a dies: no more renewals. Before its lease ran out, b cannot take it.
  await b.tick()
  t.equal(b.currentRole, 'standby', 'the lease still runs')
  await sleep(LEASE_MS + 200)
  t.notOk(a.mayAct(), 'the dead holder\'s own clock took its permission away')
  await b.tick()
  t.equal(b.currentRole, 'active', 'taken once it ran out')
  const second = b.fence()
  t.ok(second !== undefined && first !== undefined && second.epoch > first.epoch, `a new epoch (${first?.epoch} -> ${second?.epoch})`)

  // a wakes up with its old token: nothing it commits lands.
  sa.group!.fenceWith(() => first)
  await t.rejects(sa.commit([audit('by-a-stale')]), { name: 'FencedError', code: 'FENCED' })
  await sb.commit([audit('by-b-active')])
  const written = await actions(sb)
  t.ok(written.includes('by-a-while-active') && written.includes('by-b-active'))
  t.notOk(written.includes('by-a-stale') || written.includes('by-b-while-standby'), 'no fenced write landed')

  // a tries again: b holds a live lease, a stays standby.
  await a.tick()
  t.equal(a.currentRole, 'standby')
  const members = await sb.group!.lease.members()
  t.strictSame(members.map(m => m.id).sort(), ['cti-a', 'cti-b'], 'both instances are on the roll call')
  t.equal(members.find(m => m.id === 'cti-b')?.role, 'active')
  t.equal(members.find(m => m.id === 'cti-a')?.advertiseUrl, 'http://cti-a:8123')
})

t.test('never two acting at once: two keepers running side by side, sampled', async t => {
  const [sa, sb] = await twoInstances(t)
  const a = keeper(sa, 'cti-a')
  const b = keeper(sb, 'cti-b')
  a.start()
  b.start()
  t.teardown(async () => { await a.stop(); await b.stop() })
  let both = 0
  let someone = 0
  const end = Date.now() + 2 * LEASE_MS
  while (Date.now() < end) {
    const n = Number(a.mayAct()) + Number(b.mayAct())
    if (n === 2) both++
    if (n >= 1) someone++
    await sleep(10)
  }
  t.equal(both, 0, 'no moment with two active')
  t.ok(someone > 0, 'one of them became active')
})

t.test('a clean stop releases the lease: the standby takes it at its next try, not a lease later', async t => {
  const [sa, sb] = await twoInstances(t)
  const a = keeper(sa, 'cti-a')
  const b = keeper(sb, 'cti-b')
  await a.tick()
  await b.tick()
  t.equal(a.currentRole, 'active')
  await a.stop()
  t.equal(a.currentRole, 'standby')
  await b.tick()
  t.equal(b.currentRole, 'active', 'taken at once')
})

t.test('the holder loses the database (frozen): it stops acting by its own clock, before the lease runs out', async t => {
  const [sa] = await twoInstances(t)
  const a = keeper(sa, 'cti-a')
  const events: string[] = []
  a.on('active', () => events.push('active'))
  a.on('standby', reason => events.push(`standby: ${reason}`))
  await a.tick()
  t.ok(a.mayAct())
  const frozenAt = performance.now()
  cluster!.freeze()
  t.teardown(() => { cluster!.thaw() })
  const renewing = a.tick() // hangs until the store's own timeout: it must not matter
  await sleep(LEASE_MS)
  const stillActing = a.mayAct()
  t.notOk(stillActing, `not acting ${Math.round(performance.now() - frozenAt)} ms after the database froze (lease ${LEASE_MS} ms)`)
  t.match(events, ['active', /^standby: the lease was not renewed in time/])
  cluster!.thaw()
  await renewing
})
