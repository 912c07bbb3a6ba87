// The outbox on a real SQLite file through the store port: one record per outcome,
// written atomically with the outcome, claimed oldest first per agent under a durable
// lease, and never stranded by a crash. What the store itself guarantees for every
// engine is in test/store/contract.ts; this is the Outbox over it, and the SQLite
// schema's own parts (migrations 3, 6 and 10).
import path from 'node:path'
import t, { type Test } from 'tap'
import { OutboxError } from '../../src/apkt/errors.ts'
import { Outbox, type OutboxEntry } from '../../src/apkt/outbox.ts'
import type { Call } from '../../src/calls/types.ts'
import { silentLog } from '../../src/log.ts'
import { Journal } from '../../src/store/journal.ts'
import { fillOutbox, makeRecord, openApktFile, openApktStore, openOutbox, type TestOutboxOptions } from '../helpers/apkt.ts'

async function setup (t: Test, o: TestOutboxOptions = {}) {
  const file = path.join(t.testdir(), `cti-${Math.random().toString(36).slice(2)}.db`)
  const store = await openApktStore(file)
  t.teardown(() => store.close())
  return { file, store, outbox: openOutbox(store, o) }
}

/** The same file through a connection of its own, closed at the end of the test. */
function rawFile (t: Test, file: string) {
  const raw = openApktFile(file)
  t.teardown(() => raw.close())
  return raw.db
}

const at = (iso: string): Date => new Date(iso)
const NOW = at('2026-11-24T03:00:00.000Z')
const ids = (entries: OutboxEntry[]): string[] => entries.map(e => e.id)
async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

t.test('migrations 3 and 10 create the outbox beside the other migrations, claims in the row', async t => {
  const { file, store } = await setup(t)
  t.ok(store.migrated.includes(3) && store.migrated.includes(10), `applied at open: ${store.migrated.join(',')}`)
  const db = rawFile(t, file)
  const versions = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map(r => r.version)
  t.ok(versions.includes(1) && versions.includes(3) && versions.includes(10), `applied: ${versions.join(',')}`)
  const cols = (db.prepare('PRAGMA table_info(apkt_records)').all() as Array<{ name: string }>).map(c => c.name)
  for (const c of ['id', 'outcome_key', 'status', 'attempts', 'last_error', 'next_attempt_at', 'created_at', 'delivered_at', 'body', 'claimed_by', 'claimed_until']) t.ok(cols.includes(c), c)
  t.throws(() => db.prepare("INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, created_at, body) VALUES ('x','y','a','c','lost','t','{}')").run(), /CHECK/, 'status is one of pending|delivered|dead')
})

t.test('a record added is pending, due now, and survives closing the file', async t => {
  const { file, store, outbox } = await setup(t)
  const rec = makeRecord({ callId: 'c1' })
  await outbox.add(rec, 'c1:transfer', NOW)
  t.equal(outbox.knownStatus(rec.id), 'pending', 'known to this process without a read')
  await store.close()
  const again = await openApktStore(file)
  t.teardown(() => again.close())
  const e = await openOutbox(again).get(rec.id)
  t.match(e, { id: rec.id, outcomeKey: 'c1:transfer', status: 'pending', attempts: 0, lastError: null, nextAttemptAt: NOW.toISOString(), createdAt: NOW.toISOString(), deliveredAt: null })
  t.strictSame(e?.record, rec, 'the body is the record, byte for byte in meaning')
})

t.test('an outcome key is required', async t => {
  const { outbox } = await setup(t)
  t.throws(() => outbox.add(makeRecord(), ''), TypeError, 'refused before anything is written')
  t.strictSame(await outbox.list(), [])
})

t.test('one outcome never yields two records', async t => {
  const { file, outbox } = await setup(t)
  const first = makeRecord({ callId: 'c1' })
  const second = makeRecord({ callId: 'c1' })
  await outbox.add(first, 'c1:transfer')
  await t.resolves(outbox.add(second, 'c1:transfer'), 'a second add for the same outcome is not an error')
  t.equal(await outbox.get(second.id), undefined, 'and is not written')
  const forKey = (await outbox.list()).filter(e => e.outcomeKey === 'c1:transfer')
  t.equal(forKey.length, 1, 'the store holds one record for the outcome')
  t.strictSame(forKey[0]?.record, first, 'the first record, unchanged')
  await outbox.add(makeRecord({ callId: 'c1', topic: 'coverage' }), 'c1:educate')
  t.equal((await outbox.stats()).pending, 2, 'another outcome of the same call is another record')
  await t.rejects(outbox.add(first, 'c9:transfer'), /UNIQUE/, 'the same record id under another outcome is a caller bug, refused loudly')
  t.equal((rawFile(t, file).prepare('SELECT COUNT(*) AS n FROM apkt_records').get() as { n: number }).n, 2)
})

t.test('written in the outcome\'s batch through the journal: both or neither', async t => {
  const { store } = await setup(t)
  // As the service wires it (src/wiring/apkt.ts): the outbox writes into the journal,
  // so an add made while an outcome's batch is collected joins that batch.
  const journal = new Journal({ store, log: silentLog })
  t.teardown(() => journal.close())
  const journaled = new Outbox({ queries: store.outbox, write: change => journal.add(change), owner: 'test-instance', leaseMs: 600_000 })
  const call = (callId: string): Call => ({ callId, state: 'transferred', agentId: '1001', offeredAt: NOW.toISOString(), source: 'ami' })
  const taken = makeRecord({ callId: 'taken' })
  await journaled.add(taken, 'taken:transfer')

  // The outcome's handler fails after writing: nothing of the batch is handed to the store.
  t.throws(() => journal.batch(() => {
    void journal.add({ kind: 'call', call: call('c1') })
    void journaled.add(makeRecord({ callId: 'c1' }), 'c1:transfer')
    throw new Error('outcome handler failed after writing')
  }), /handler failed/)
  // The store refuses the batch (its record reuses an existing id): neither lands.
  const refused = journal.batch(() => {
    void journal.add({ kind: 'call', call: call('c2') })
    void journaled.add({ ...makeRecord({ callId: 'c2' }), id: taken.id }, 'c2:transfer')
  })
  await t.rejects(refused.saved, /UNIQUE/)
  // A good one: both.
  const rec3 = makeRecord({ callId: 'c3' })
  const good = journal.batch(() => {
    void journal.add({ kind: 'call', call: { ...call('c3'), apkt: { recordId: rec3.id, permasalahan: rec3.permasalahan } } })
    void journaled.add(rec3, 'c3:transfer')
  })
  await good.saved
  await journal.flushed()

  t.equal(await store.calls.get('c1'), undefined, 'failed handler: no call')
  t.equal(await store.calls.get('c2'), undefined, 'refused batch: no call')
  t.strictSame((await journaled.list()).map(e => e.callId), ['c3', 'taken'], 'and no record of either')
  t.equal((await store.calls.get('c3'))?.apkt?.recordId, rec3.id, 'committed with the outcome')
  t.equal((await journaled.get(rec3.id))?.status, 'pending')
})

t.test('claims: only the oldest pending record of each agent, due, not already claimed', async t => {
  const { outbox } = await setup(t)
  const got = await fillOutbox(outbox, ['A', 'B'], 3)
  const a = got.get('A') ?? []
  const b = got.get('B') ?? []
  const now = new Date(Date.now() + 1000)
  const first = await outbox.claimDue(now, 10)
  t.strictSame(ids(first), [a[0], b[0]], 'one per agent, the oldest')
  t.equal(outbox.claimedCount, 2)
  t.strictSame(await outbox.claimDue(now, 10), [], 'claimed agents are skipped until settled')
  await outbox.markDelivered(a[0] as string, now)
  t.equal(outbox.knownStatus(a[0] as string), 'delivered')
  t.strictSame(ids(await outbox.claimDue(now, 10)), [a[1]], 'A\'s next record once its first is delivered')
  await outbox.markFailed(b[0] as string, 'HTTP 500', new Date(now.getTime() + 60_000))
  t.equal(outbox.knownStatus(b[0] as string), 'pending', 'a failed record is still pending')
  t.strictSame(await outbox.claimDue(now, 10), [], 'B waits for its failed head: no overtaking while it backs off')
  t.strictSame(ids(await outbox.claimDue(new Date(now.getTime() + 60_000), 10)), [b[0]], 'due again after its back-off')
  await outbox.markDead(b[0] as string, 'HTTP 400: bad')
  t.equal(outbox.knownStatus(b[0] as string), 'dead')
  t.strictSame(ids(await outbox.claimDue(now, 10)), [b[1]], 'a dead record no longer holds its agent back')
  t.equal(outbox.claimedCount, 2, 'A1 and B1 are claimed; the settled ones are not counted')
})

t.test('claimDue honours its limit and hands out the oldest first across agents', async t => {
  const { outbox } = await setup(t)
  await fillOutbox(outbox, ['A', 'B', 'C', 'D'], 2)
  const got = await outbox.claimDue(new Date(Date.now() + 1000), 3)
  t.strictSame(got.map(e => e.agentId), ['A', 'B', 'C'])
  t.strictSame(await outbox.claimDue(new Date(Date.now() + 1000), 0), [])
  t.equal(outbox.claimedCount, 3)
})

t.test('results: attempts, last error, next attempt, delivered time', async t => {
  const { outbox } = await setup(t)
  const rec = makeRecord()
  await outbox.add(rec, 'k', NOW)
  await outbox.claimDue(NOW, 1)
  await outbox.markFailed(rec.id, 'HTTP 503: busy', at('2026-11-24T03:00:05.000Z'))
  t.match(await outbox.get(rec.id), { status: 'pending', attempts: 1, lastError: 'HTTP 503: busy', nextAttemptAt: '2026-11-24T03:00:05.000Z' })
  await outbox.claimDue(at('2026-11-24T03:00:05.000Z'), 1)
  await outbox.markDelivered(rec.id, at('2026-11-24T03:00:06.000Z'))
  t.match(await outbox.get(rec.id), { status: 'delivered', attempts: 2, deliveredAt: '2026-11-24T03:00:06.000Z', nextAttemptAt: null })
  await outbox.markFailed(rec.id, 'late', NOW)
  t.equal((await outbox.get(rec.id))?.status, 'delivered', 'a settled record is not changed by a stray result')
  t.equal((await outbox.get(rec.id))?.attempts, 2)
  const long = makeRecord()
  await outbox.add(long, 'k2')
  await outbox.markFailed(long.id, 'x'.repeat(5000), NOW)
  t.ok(((await outbox.get(long.id))?.lastError?.length ?? 0) <= 501, 'a huge error page is clipped')
})

t.test('retry: dead -> pending, due now, attempts kept; unknown and not-dead refused', async t => {
  const { outbox } = await setup(t)
  const rec = makeRecord()
  await outbox.add(rec, 'k', NOW)
  await outbox.claimDue(NOW, 1)
  await outbox.markDead(rec.id, 'HTTP 400: unit unknown')
  t.match(await outbox.get(rec.id), { status: 'dead', attempts: 1, lastError: 'HTTP 400: unit unknown', nextAttemptAt: null })
  const later = at('2026-11-24T05:00:00.000Z')
  const e = await outbox.retry(rec.id, later)
  t.match(e, { status: 'pending', attempts: 1, nextAttemptAt: later.toISOString() })
  t.equal(outbox.knownStatus(rec.id), 'pending')
  t.match(await outbox.get(rec.id), { status: 'pending', attempts: 1, nextAttemptAt: later.toISOString(), lastError: 'HTTP 400: unit unknown' })
  t.strictSame(ids(await outbox.claimDue(later, 1)), [rec.id])
  await t.rejects(outbox.retry(rec.id), new OutboxError('RECORD_NOT_DEAD', `APKT record ${rec.id} is pending; only a dead record can be retried`))
  await t.rejects(outbox.retry('no-such-id'), { name: 'OutboxError', code: 'RECORD_NOT_FOUND' })
  const old = makeRecord()
  await outbox.add(old, 'k-old')
  await outbox.markDead(old.id, 'expired', { attempted: false })
  t.equal((await outbox.get(old.id))?.attempts, 0, 'dying without an attempt does not count one')
})

t.test('a crash never strands a record: its claim is dropped at the next start, or runs out', async t => {
  const { file, store, outbox } = await setup(t, { owner: 'instance-1', leaseMs: 60_000 })
  const got = await fillOutbox(outbox, ['A'], 2)
  const a0 = got.get('A')?.[0] as string
  const now = new Date(Date.now() + 1000)
  t.strictSame(ids(await outbox.claimDue(now, 5)), [a0])
  await store.close() // the process dies here, mid-delivery, without settling
  const reopened = await openApktStore(file)
  t.teardown(() => reopened.close())
  t.match(await openOutbox(reopened).get(a0), { status: 'pending', attempts: 0 }, 'still pending after the crash')
  // The claim is in the row (leased 60 s): nobody takes the agent's head while it lasts ...
  const other = openOutbox(reopened, { owner: 'instance-2', leaseMs: 60_000 })
  t.strictSame(await other.claimDue(now, 5), [], 'another instance: held by the dead run\'s lease')
  const restarted = openOutbox(reopened, { owner: 'instance-1', leaseMs: 60_000 })
  t.strictSame(await restarted.claimDue(now, 5), [], 'the same instance too, until it drops its old claims')
  // ... until the restarted instance drops its previous run's claims (Dispatcher.start does).
  await restarted.releaseAll()
  t.strictSame(ids(await restarted.claimDue(now, 5)), [a0], 'the next process claims the same record again at once')
  t.equal((await restarted.get(a0))?.attempts, 0, 'no attempt counted for the crash')
  // Had it not come back, the lease runs out and another instance takes the record.
  t.strictSame(await other.claimDue(new Date(now.getTime() + 59_000), 5), [], 'within the lease')
  t.strictSame(ids(await other.claimDue(new Date(now.getTime() + 61_000), 5)), [a0], 'after the lease: another instance delivers it')
})

t.test('two instances on one store (an HA group) never get the same record', async t => {
  const { store } = await setup(t)
  const one = openOutbox(store, { owner: 'instance-1' })
  const two = openOutbox(store, { owner: 'instance-2' })
  const got = await fillOutbox(one, ['A', 'B', 'C'], 2)
  const now = new Date(Date.now() + 1000)
  const [first, second] = await Promise.all([one.claimDue(now, 2), two.claimDue(now, 2)])
  const all = [...ids(first ?? []), ...ids(second ?? [])]
  t.equal(new Set(all).size, all.length, 'no record handed to both')
  t.strictSame([...all].sort(), [got.get('A')?.[0], got.get('B')?.[0], got.get('C')?.[0]].sort(), 'every agent\'s head, once')
  t.equal(one.claimedCount + two.claimedCount, 3)
  // One settles; the other's claims hold on, so the next head goes only to whoever asks first.
  for (const e of first ?? []) await one.markDelivered(e.id, now)
  t.equal(one.claimedCount, 0)
  const next = await two.claimDue(now, 10)
  t.strictSame(next.map(e => e.agentId).sort(), (first ?? []).map(e => e.agentId).sort(), 'only the agents whose head is settled have a next record')
})

t.test('release gives a claim back without counting an attempt', async t => {
  const { outbox } = await setup(t)
  await fillOutbox(outbox, ['A'], 1)
  const [e] = await outbox.claimDue(new Date(Date.now() + 1000), 1)
  t.equal(outbox.claimedCount, 1)
  await outbox.release(e?.id ?? '')
  t.equal(outbox.claimedCount, 0)
  t.equal((await outbox.claimDue(new Date(Date.now() + 1000), 1))[0]?.id, e?.id)
  t.equal((await outbox.get(e?.id ?? ''))?.attempts, 0)
})

t.test('list, entries and stats', async t => {
  const { outbox } = await setup(t)
  const got = await fillOutbox(outbox, ['A', 'B'], 3) // A0 B0 A1 B1 A2 B2
  const all = [0, 1, 2].flatMap(i => [got.get('A')?.[i], got.get('B')?.[i]])
  const a0 = all[0] as string
  const b0 = all[1] as string
  await outbox.claimDue(new Date(Date.now() + 1000), 2)
  await outbox.markDelivered(a0)
  await outbox.markDead(b0, 'HTTP 422')
  t.strictSame(ids(await outbox.list()), [...all].reverse(), 'newest first')
  t.strictSame(ids(await outbox.list({ limit: 2 })), [all[5], all[4]])
  t.strictSame(ids(await outbox.list({ status: 'dead' })), [b0])
  t.strictSame(ids(await outbox.list({ status: 'delivered' })), [a0])
  t.equal((await outbox.list({ status: 'pending' })).length, 4)
  t.strictSame(ids(await collect(outbox.entries())), all, 'entries: creation order')
  t.strictSame(ids(await collect(outbox.entries({ status: 'pending' }))), all.slice(2))
  const now = new Date(Date.now() + 5000)
  const s = await outbox.stats(now)
  t.match(s, { pending: 4, delivered: 1, dead: 1 })
  const created = await Promise.all(all.slice(2).map(async id => Date.parse((await outbox.get(id as string))?.createdAt ?? '')))
  t.equal(s.oldestPendingAgeMs, now.getTime() - Math.min(...created), 'oldest pending age: from the oldest pending record\'s creation to now')
  const { outbox: empty } = await setup(t)
  t.strictSame(await empty.stats(), { pending: 0, delivered: 0, dead: 0, oldestPendingAgeMs: null })
})

t.test('the counts by status are kept exact by the store, whoever writes (migration 6)', async t => {
  const { file, outbox } = await setup(t)
  // Another connection to the same file: the CLI, an operator's repair by hand.
  const db = rawFile(t, file)
  const truth = (): Record<string, number> => {
    const out: Record<string, number> = { pending: 0, delivered: 0, dead: 0 }
    for (const r of db.prepare('SELECT status, COUNT(*) AS n FROM apkt_records GROUP BY status').all() as Array<{ status: string, n: number }>) out[r.status] = r.n
    return out
  }
  const counts = async (): Promise<Record<string, number>> => { const s = await outbox.stats(NOW); return { pending: s.pending, delivered: s.delivered, dead: s.dead } }
  const recs = Array.from({ length: 6 }, (_, i) => makeRecord({ callId: `n${i}` }))
  await Promise.all(recs.map(async (r, i) => { await outbox.add(r, `n${i}:transfer`, NOW) }))
  const recIds = recs.map(r => r.id)
  await outbox.add(makeRecord({ callId: 'n0' }), 'n0:transfer', NOW) // the same outcome again: no new record
  t.same(await counts(), { pending: 6, delivered: 0, dead: 0 })
  await outbox.claimDue(NOW, 10)
  await outbox.markDelivered(recIds[0] as string, NOW)
  await outbox.markDelivered(recIds[1] as string, NOW)
  await outbox.markFailed(recIds[2] as string, 'HTTP 503', NOW)
  await outbox.markDead(recIds[3] as string, 'HTTP 400')
  t.same(await counts(), { pending: 3, delivered: 2, dead: 1 })
  t.same(await counts(), truth())
  await outbox.retry(recIds[3] as string, NOW) // a supervisor's retry: dead -> pending
  t.same(await counts(), { pending: 4, delivered: 2, dead: 0 })
  db.prepare("UPDATE apkt_records SET status = 'dead' WHERE id = ?").run(recIds[4])
  db.prepare('DELETE FROM apkt_records WHERE id = ?').run(recIds[5])
  t.same(await counts(), { pending: 2, delivered: 2, dead: 1 })
  t.same(await counts(), truth())
  // A rolled-back change leaves the counts as they were: a refused add (an id already taken) ...
  await t.rejects(outbox.add({ ...makeRecord({ callId: 'rb' }), id: recIds[0] as string }, 'rb:transfer', NOW))
  t.same(await counts(), truth())
  // ... and a transaction on the other connection that rolls back after inserting.
  t.throws(() => db.transaction(() => {
    db.prepare("INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, created_at, body) VALUES ('rb2', 'rb2:transfer', '1001', 'rb2', 'pending', ?, '{}')").run(NOW.toISOString())
    throw new Error('rolled back')
  })())
  t.same(await counts(), truth())
  t.same(await counts(), { pending: 2, delivered: 2, dead: 1 })
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
  const store = await openApktStore(file)
  t.teardown(() => store.close())
  t.ok(store.migrated.includes(6), 'migration 6 applied at this open')
  t.match(await openOutbox(store).stats(NOW), { pending: 3, delivered: 1, dead: 1 })
})
