// The outbox on a real SQLite file: one record per outcome, written atomically with
// the outcome, claimed oldest first per agent, and never stranded by a crash.
import path from 'node:path'
import t, { type Test } from 'tap'
import { OutboxError } from '../../src/apkt/errors.ts'
import { Outbox } from '../../src/apkt/outbox.ts'
import { fillOutbox, makeRecord, openApktStore } from '../helpers/apkt.ts'

function setup (t: Test) {
  const file = path.join(t.testdir(), 'cti.db')
  const store = openApktStore(file)
  t.teardown(() => store.close())
  return { file, store, outbox: new Outbox(store.db) }
}

const at = (iso: string): Date => new Date(iso)
const NOW = at('2026-11-24T03:00:00.000Z')

t.test('migration 3 creates the outbox beside the other migrations', async t => {
  const { store } = setup(t)
  const versions = (store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map(r => r.version)
  t.ok(versions.includes(1) && versions.includes(3), `applied: ${versions.join(',')}`)
  const cols = (store.db.prepare('PRAGMA table_info(apkt_records)').all() as Array<{ name: string }>).map(c => c.name)
  for (const c of ['id', 'outcome_key', 'status', 'attempts', 'last_error', 'next_attempt_at', 'created_at', 'delivered_at', 'body']) t.ok(cols.includes(c), c)
  t.throws(() => store.db.prepare("INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, created_at, body) VALUES ('x','y','a','c','lost','t','{}')").run(), /CHECK/, 'status is one of pending|delivered|dead')
})

t.test('a record added is pending, due now, and survives closing the file', async t => {
  const { file, store, outbox } = setup(t)
  const rec = makeRecord({ callId: 'c1' })
  const res = outbox.add(rec, 'c1:transfer', NOW)
  t.equal(res.created, true)
  store.close()
  const again = openApktStore(file)
  t.teardown(() => again.close())
  const e = new Outbox(again.db).get(rec.id)
  t.match(e, { id: rec.id, outcomeKey: 'c1:transfer', status: 'pending', attempts: 0, lastError: null, nextAttemptAt: NOW.toISOString(), createdAt: NOW.toISOString(), deliveredAt: null })
  t.strictSame(e?.record, rec, 'the body is the record, byte for byte in meaning')
})

t.test('one outcome never yields two records', async t => {
  const { store, outbox } = setup(t)
  const first = makeRecord({ callId: 'c1' })
  const second = makeRecord({ callId: 'c1' })
  t.equal(outbox.add(first, 'c1:transfer').created, true)
  const dup = outbox.add(second, 'c1:transfer')
  t.equal(dup.created, false)
  t.strictSame(dup.record, first, 'the existing record comes back')
  t.equal(outbox.add(makeRecord({ callId: 'c1', topic: 'coverage' }), 'c1:educate').created, true, 'another outcome of the same call is another record')
  t.equal(outbox.stats().pending, 2)
  t.throws(() => outbox.add(first, 'c9:transfer'), /UNIQUE/, 'the same record id under another outcome is a caller bug, refused loudly')
  t.equal((store.db.prepare('SELECT COUNT(*) AS n FROM apkt_records').get() as { n: number }).n, 2)
})

t.test('written in the caller\'s transaction: both or neither with the outcome', async t => {
  const { store, outbox } = setup(t)
  store.db.exec('CREATE TABLE call_outcomes (call_id TEXT PRIMARY KEY, outcome TEXT NOT NULL)')
  const record = (callId: string, fail: boolean) => store.db.transaction(() => {
    store.db.prepare('INSERT INTO call_outcomes VALUES (?, ?)').run(callId, 'transferred')
    outbox.add(makeRecord({ callId }), `${callId}:transfer`)
    if (fail) throw new Error('outcome handler failed after writing')
  })()
  t.throws(() => record('c1', true), /handler failed/)
  t.equal(outbox.stats().pending, 0, 'rolled back with the outcome')
  t.equal((store.db.prepare('SELECT COUNT(*) AS n FROM call_outcomes').get() as { n: number }).n, 0)
  record('c2', false)
  t.equal(outbox.stats().pending, 1, 'committed with the outcome')
})

t.test('claims: only the oldest pending record of each agent, due, not already claimed', async t => {
  const { outbox } = setup(t)
  const ids = fillOutbox(outbox, ['A', 'B'], 3)
  const a = ids.get('A') ?? []
  const b = ids.get('B') ?? []
  const now = new Date(Date.now() + 1000)
  const first = outbox.claimDue(now, 10)
  t.strictSame(first.map(e => e.id), [a[0], b[0]], 'one per agent, the oldest')
  t.strictSame(outbox.claimDue(now, 10), [], 'claimed agents are skipped until settled')
  outbox.markDelivered(a[0] as string, now)
  t.strictSame(outbox.claimDue(now, 10).map(e => e.id), [a[1]], 'A\'s next record once its first is delivered')
  outbox.markFailed(b[0] as string, 'HTTP 500', new Date(now.getTime() + 60_000))
  t.strictSame(outbox.claimDue(now, 10), [], 'B waits for its failed head: no overtaking while it backs off')
  t.strictSame(outbox.claimDue(new Date(now.getTime() + 60_000), 10).map(e => e.id), [b[0]], 'due again after its back-off')
  outbox.markDead(b[0] as string, 'HTTP 400: bad')
  t.strictSame(outbox.claimDue(now, 10).map(e => e.id), [b[1]], 'a dead record no longer holds its agent back')
  t.equal(outbox.claimedCount, 2)
})

t.test('claimDue honours its limit and hands out the oldest first across agents', async t => {
  const { outbox } = setup(t)
  fillOutbox(outbox, ['A', 'B', 'C', 'D'], 2)
  const got = outbox.claimDue(new Date(Date.now() + 1000), 3)
  t.strictSame(got.map(e => e.agentId), ['A', 'B', 'C'])
  t.strictSame(outbox.claimDue(new Date(Date.now() + 1000), 0), [])
})

t.test('results: attempts, last error, next attempt, delivered time', async t => {
  const { outbox } = setup(t)
  const rec = makeRecord()
  outbox.add(rec, 'k', NOW)
  outbox.claimDue(NOW, 1)
  outbox.markFailed(rec.id, 'HTTP 503: busy', at('2026-11-24T03:00:05.000Z'))
  t.match(outbox.get(rec.id), { status: 'pending', attempts: 1, lastError: 'HTTP 503: busy', nextAttemptAt: '2026-11-24T03:00:05.000Z' })
  outbox.claimDue(at('2026-11-24T03:00:05.000Z'), 1)
  outbox.markDelivered(rec.id, at('2026-11-24T03:00:06.000Z'))
  t.match(outbox.get(rec.id), { status: 'delivered', attempts: 2, deliveredAt: '2026-11-24T03:00:06.000Z', nextAttemptAt: null })
  outbox.markFailed(rec.id, 'late', NOW)
  t.equal(outbox.get(rec.id)?.status, 'delivered', 'a settled record is not changed by a stray result')
  t.equal(outbox.get(rec.id)?.attempts, 2)
  const long = makeRecord()
  outbox.add(long, 'k2')
  outbox.markFailed(long.id, 'x'.repeat(5000), NOW)
  t.ok((outbox.get(long.id)?.lastError?.length ?? 0) <= 501, 'a huge error page is clipped')
})

t.test('retry: dead -> pending, due now, attempts kept; unknown and not-dead refused', async t => {
  const { outbox } = setup(t)
  const rec = makeRecord()
  outbox.add(rec, 'k', NOW)
  outbox.claimDue(NOW, 1)
  outbox.markDead(rec.id, 'HTTP 400: unit unknown')
  t.match(outbox.get(rec.id), { status: 'dead', attempts: 1, lastError: 'HTTP 400: unit unknown', nextAttemptAt: null })
  const later = at('2026-11-24T05:00:00.000Z')
  const e = outbox.retry(rec.id, later)
  t.match(e, { status: 'pending', attempts: 1, nextAttemptAt: later.toISOString() })
  t.match(outbox.get(rec.id), { status: 'pending', attempts: 1, nextAttemptAt: later.toISOString(), lastError: 'HTTP 400: unit unknown' })
  t.strictSame(outbox.claimDue(later, 1).map(x => x.id), [rec.id])
  t.throws(() => outbox.retry(rec.id), new OutboxError('RECORD_NOT_DEAD', `APKT record ${rec.id} is pending; only a dead record can be retried`))
  t.throws(() => outbox.retry('no-such-id'), { name: 'OutboxError', code: 'RECORD_NOT_FOUND' })
  const old = makeRecord()
  outbox.add(old, 'k-old')
  outbox.markDead(old.id, 'expired', { attempted: false })
  t.equal(outbox.get(old.id)?.attempts, 0, 'dying without an attempt does not count one')
})

t.test('a crash never strands a record: claims are not stored', async t => {
  const { file, store, outbox } = setup(t)
  const ids = fillOutbox(outbox, ['A'], 2)
  const claimed = outbox.claimDue(new Date(Date.now() + 1000), 5)
  t.equal(claimed.length, 1)
  store.close() // the process dies here, mid-delivery, without settling
  const reopened = openApktStore(file)
  t.teardown(() => reopened.close())
  const fresh = new Outbox(reopened.db)
  t.strictSame(fresh.claimDue(new Date(Date.now() + 1000), 5).map(e => e.id), [ids.get('A')?.[0]], 'the next process claims the same record again')
  t.equal(fresh.get(claimed[0]?.id ?? '')?.attempts, 0)
})

t.test('release gives a claim back without counting an attempt', async t => {
  const { outbox } = setup(t)
  fillOutbox(outbox, ['A'], 1)
  const [e] = outbox.claimDue(new Date(Date.now() + 1000), 1)
  outbox.release(e?.id ?? '')
  t.equal(outbox.claimDue(new Date(Date.now() + 1000), 1)[0]?.id, e?.id)
  t.equal(outbox.get(e?.id ?? '')?.attempts, 0)
})

t.test('list, entries and stats', async t => {
  const { outbox } = setup(t)
  const ids = fillOutbox(outbox, ['A', 'B'], 3) // A0 B0 A1 B1 A2 B2
  const all = [0, 1, 2].flatMap(i => [ids.get('A')?.[i], ids.get('B')?.[i]])
  const a0 = all[0] as string
  const b0 = all[1] as string
  outbox.claimDue(new Date(Date.now() + 1000), 2)
  outbox.markDelivered(a0)
  outbox.markDead(b0, 'HTTP 422')
  t.strictSame(outbox.list().map(e => e.id), [...all].reverse(), 'newest first')
  t.strictSame(outbox.list({ limit: 2 }).map(e => e.id), [all[5], all[4]])
  t.strictSame(outbox.list({ status: 'dead' }).map(e => e.id), [b0])
  t.strictSame(outbox.list({ status: 'delivered' }).map(e => e.id), [a0])
  t.equal(outbox.list({ status: 'pending' }).length, 4)
  t.strictSame([...outbox.entries()].map(e => e.id), all, 'entries: creation order')
  t.strictSame([...outbox.entries({ status: 'pending' })].map(e => e.id), all.slice(2))
  const now = new Date(Date.now() + 5000)
  const s = outbox.stats(now)
  t.match(s, { pending: 4, delivered: 1, dead: 1 })
  const oldestPending = Math.min(...all.slice(2).map(id => Date.parse(outbox.get(id as string)?.createdAt ?? '')))
  t.equal(s.oldestPendingAgeMs, now.getTime() - oldestPending, 'oldest pending age: from the oldest pending record\'s creation to now')
  const { outbox: empty } = setup(t)
  t.strictSame(empty.stats(), { pending: 0, delivered: 0, dead: 0, oldestPendingAgeMs: null })
})

t.test('the counts by status are kept exact by the store, whoever writes (migration 6)', async t => {
  const { store, outbox } = setup(t)
  const truth = (): Record<string, number> => {
    const out: Record<string, number> = { pending: 0, delivered: 0, dead: 0 }
    for (const r of store.db.prepare('SELECT status, COUNT(*) AS n FROM apkt_records GROUP BY status').all() as Array<{ status: string, n: number }>) out[r.status] = r.n
    return out
  }
  const counts = (): Record<string, number> => { const s = outbox.stats(NOW); return { pending: s.pending, delivered: s.delivered, dead: s.dead } }
  const ids = Array.from({ length: 6 }, (_, i) => outbox.add(makeRecord({ callId: `n${i}` }), `n${i}:transfer`, NOW).record.id)
  outbox.add(makeRecord({ callId: 'n0' }), 'n0:transfer', NOW) // the same outcome again: no new record
  t.same(counts(), { pending: 6, delivered: 0, dead: 0 })
  outbox.claimDue(NOW, 10)
  outbox.markDelivered(ids[0] as string, NOW)
  outbox.markDelivered(ids[1] as string, NOW)
  outbox.markFailed(ids[2] as string, 'HTTP 503', NOW)
  outbox.markDead(ids[3] as string, 'HTTP 400')
  t.same(counts(), { pending: 3, delivered: 2, dead: 1 })
  t.same(counts(), truth())
  outbox.retry(ids[3] as string, NOW) // a supervisor's retry: dead -> pending
  t.same(counts(), { pending: 4, delivered: 2, dead: 0 })
  // Another writer on the same file (the CLI, a repair by hand): still exact.
  store.db.prepare("UPDATE apkt_records SET status = 'dead' WHERE id = ?").run(ids[4])
  store.db.prepare('DELETE FROM apkt_records WHERE id = ?').run(ids[5])
  t.same(counts(), { pending: 2, delivered: 2, dead: 1 })
  t.same(counts(), truth())
  // A rolled-back change leaves the counts as they were.
  t.throws(() => store.db.transaction(() => { outbox.add(makeRecord({ callId: 'rb' }), 'rb:transfer', NOW); throw new Error('rolled back') })())
  t.same(counts(), truth())
})

t.test('migration 6 counts the records written before it', async t => {
  const file = path.join(t.testdir(), 'old.db')
  // A store as it was before migration 6, with records in every state.
  const { openStore } = await import('../../src/store/sqlite.ts')
  const { migrations } = await import('../../src/store/migrations.ts')
  const { apktMigrations } = await import('../../src/apkt/migrations.ts')
  const old = openStore(file, [...migrations, ...apktMigrations.filter(m => m.version < 6)])
  const insert = old.db.prepare("INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, created_at, body) VALUES (?, ?, '1001', ?, ?, ?, '{}')")
  const states = ['delivered', 'dead', 'pending', 'pending', 'pending']
  states.forEach((status, i) => insert.run(`old-${i}`, `o${i}:educate`, `o${i}`, status, NOW.toISOString()))
  t.throws(() => old.db.prepare('SELECT * FROM apkt_counts').all(), /no such table/, 'before migration 6 there are no counts')
  old.close()
  const store = openApktStore(file)
  t.teardown(() => store.close())
  t.match(new Outbox(store.db).stats(NOW), { pending: 3, delivered: 1, dead: 1 })
})
