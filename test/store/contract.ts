// One contract for the Store port (src/store/port.ts), run against every engine
// (test/store/<engine>.test.ts): the same changes, the same answers. Engine-agnostic:
// it talks only to the port; an engine's own details (migrations, pragmas, its
// errors) are tested beside it. Every test's name starts with the engine, so the
// output says which engine each ran on.
//
//   storeContract(t, 'sqlite', () => openSqliteStore(freshFile(), ALL), { openAnother: s => openSqliteStore(s.where, ALL) })
//
// `open` gives a store on a fresh, empty database each time; `openAnother(s)` a second
// Store on the same database as `s` (every engine allows several: an HA group needs it),
// for concurrent claimers and for reading back after close.
import type { Test } from 'tap'
import { OutboxError } from '../../src/apkt/errors.ts'
import { buildApktRecord, type ApktRecord } from '../../src/apkt/record.ts'
import type { AcwEntry } from '../../src/acw/types.ts'
import type { Agent } from '../../src/agents/types.ts'
import type { AgentSession } from '../../src/agents/session.ts'
import type { Call } from '../../src/calls/types.ts'
import type { Change, OutboxEntry, Store } from '../../src/store/port.ts'
import { reportsContract } from './reports-contract.ts'

export interface ContractOptions {
  /** A second Store on the same database as `store` (several claimers, reading after close). */
  openAnother: (store: Store) => Promise<Store>
  /** The store's `kind` when the name shown differs (e.g. 'sqlite' for 'sqlite/worker'). */
  kind?: string
}

const NOW = new Date('2026-11-24T03:00:00.000Z')
const DAY = 86_400_000
const iso = (d: Date): string => d.toISOString()
const plus = (d: Date, ms: number): Date => new Date(d.getTime() + ms)

let n = 0
function record (o: { agentId?: string, callId?: string, id?: string } = {}): ApktRecord {
  return buildApktRecord({
    callId: o.callId ?? `call-${++n}`,
    agentId: o.agentId ?? '1001',
    topic: 'activation',
    apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'ICONNET : TRANSFER CALL' },
    customer: { name: 'Budi', customerId: '5123456789' },
    unit: 'DISTRIBUSI JAKARTA RAYA',
    unitPelayanan: 'UP3 TANJUNG PRIOK',
    at: NOW,
    ...(o.id !== undefined ? { id: o.id } : {})
  })
}

const apkt = (r: ApktRecord, at = NOW, outcomeKey = `${r.callId}:transfer`): Change => ({ kind: 'apktRecord', record: r, outcomeKey, at: iso(at) })

function call (callId: string, state: Call['state'], extra: Partial<Call> = {}): Call {
  return { callId, state, agentId: '1001', offeredAt: iso(NOW), source: 'ami', ...extra }
}

/** Records for each agent, interleaved by agent (A0 B0 A1 B1 ...), each created 1 ms after the one before. */
async function fill (store: Store, agents: string[], perAgent: number, from = NOW): Promise<Map<string, string[]>> {
  const byAgent = new Map<string, string[]>(agents.map(a => [a, []]))
  const changes: Change[] = []
  let i = 0
  for (let k = 0; k < perAgent; k++) {
    for (const agentId of agents) {
      const r = record({ agentId, callId: `call-${agentId}-${k}-${++n}` })
      changes.push(apkt(r, plus(from, i++)))
      byAgent.get(agentId)?.push(r.id)
    }
  }
  await store.commit(changes)
  return byAgent
}

const ids = (es: OutboxEntry[]): string[] => es.map(e => e.id)

async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

export function storeContract (t: Test, engine: string, open: () => Promise<Store>, opts: ContractOptions): void {
  const fresh = async (t: Test): Promise<Store> => {
    const store = await open()
    t.teardown(async () => { if (store.open) await store.close() })
    return store
  }
  const another = async (t: Test, store: Store): Promise<Store> => {
    const s = await opts.openAnother(store)
    t.teardown(async () => { if (s.open) await s.close() })
    return s
  }

  t.test(`${engine}: a store opens healthy and says what it is`, async t => {
    const store = await fresh(t)
    t.equal(store.open, true)
    t.equal(store.kind, opts.kind ?? engine)
    t.type(store.where, 'string')
    t.ok(store.where.length > 0, 'where it is')
    await t.resolves(store.check(), 'check() resolves on a healthy store')
    t.equal(store.isUnavailable(new Error('a bug')), false, 'a plain error is a bug, not unavailability')
    t.equal(store.isUnavailable(new TypeError('x')), false)
  })

  t.test(`${engine}: calls: written, replaced, read back; unfinished as today`, async t => {
    const store = await fresh(t)
    const full = call('c1', 'transferred', {
      queue: 'pln123',
      customerChannel: 'PJSIP/trunk-00000001',
      agentChannel: 'PJSIP/1001-00000002',
      callerIdNum: '081234567890',
      callerIdName: 'Budi',
      connectedAt: iso(NOW),
      endReason: 'transferred to 3@direct-transfer',
      transfer: { status: 'completed', target: 3, at: iso(NOW), landing: { status: 'waiting', at: iso(NOW), waitSeconds: 0 } },
      apkt: { recordId: 'r1', permasalahan: 'ICONNET : TRANSFER CALL' }
    })
    await store.commit([{ kind: 'call', call: call('c1', 'offered') }])
    t.strictSame(await store.calls.get('c1'), call('c1', 'offered'))
    await store.commit([{ kind: 'call', call: full }])
    t.strictSame(await store.calls.get('c1'), full, 'replaced, every field read back')
    t.equal(await store.calls.get('nope'), undefined)

    await store.commit([
      { kind: 'call', call: call('offered', 'offered') },
      { kind: 'call', call: call('connected', 'connected') },
      { kind: 'call', call: call('transferring', 'transferring') },
      { kind: 'call', call: call('ended', 'ended', { endedAt: iso(NOW) }) },
      { kind: 'call', call: call('transferred-done', 'transferred', { endedAt: iso(NOW) }) }
    ])
    // c1 is transferred without endedAt: its customer's end was never seen, so it is unfinished.
    const unfinished = (await store.calls.unfinished()).map(c => c.callId).sort()
    t.strictSame(unfinished, ['c1', 'connected', 'offered', 'transferring'])
    t.strictSame((await store.calls.unfinished()).find(c => c.callId === 'c1'), full, 'whole calls come back')
  })

  t.test(`${engine}: one commit saving a call several times keeps its last save, the other changes beside it`, async t => {
    const store = await fresh(t)
    const r = record({ callId: 'g1' })
    // What a group commit hands in: one AMI read's changes of two calls, interleaved with
    // an audit entry and an APKT record, a call saved again after the others.
    await store.commit([
      { kind: 'call', call: call('g1', 'offered') },
      { kind: 'call', call: call('g2', 'offered', { agentId: '1002' }) },
      { kind: 'call', call: call('g1', 'connected', { connectedAt: iso(NOW) }) },
      { kind: 'audit', entry: { actor: 'agent 1001', role: 'agent', action: 'direct-transfer', target: 'g1' }, at: iso(NOW) },
      apkt(r),
      { kind: 'audit', entry: { actor: 'agent 1002', role: 'agent', action: 'consent', target: 'g2' }, at: iso(NOW) },
      { kind: 'call', call: call('g2', 'ended', { agentId: '1002', endedAt: iso(NOW) }) },
      { kind: 'call', call: call('g1', 'transferring', { connectedAt: iso(NOW) }) }
    ])
    t.strictSame(await store.calls.get('g1'), call('g1', 'transferring', { connectedAt: iso(NOW) }), 'g1 as last saved')
    t.strictSame(await store.calls.get('g2'), call('g2', 'ended', { agentId: '1002', endedAt: iso(NOW) }), 'g2 as last saved')
    t.strictSame((await store.calls.unfinished()).map(c => c.callId), ['g1'], 'the ended call is finished, the other not')
    t.strictSame((await store.audit.list()).map(a => a.target), ['g2', 'g1'], 'the audit entries written, newest (the later one) first')
    t.equal((await store.outbox.get(r.id))?.status, 'pending', 'the APKT record written')
    // A later commit still replaces it (nothing of the earlier saves lingers).
    await store.commit([{ kind: 'call', call: call('g1', 'transferred', { endedAt: iso(NOW) }) }, { kind: 'call', call: call('g1', 'ended', { endedAt: iso(NOW) }) }])
    t.equal((await store.calls.get('g1'))?.state, 'ended')
  })
  t.test(`${engine}: ACW: saved, replaced, ended; all() oldest first`, async t => {
    const store = await fresh(t)
    const a: AcwEntry = { agentId: '1001', callId: 'c1', startedAt: '2026-11-24T03:00:02.000Z', endsAt: '2026-11-24T03:00:32.000Z', state: 'active', seconds: 30, interface: 'PJSIP/1001', pauseReason: 'Wrapup' }
    const b: AcwEntry = { agentId: '1002', startedAt: '2026-11-24T03:00:01.000Z', state: 'holding', seconds: 45 }
    const c: AcwEntry = { agentId: '1003', callId: 'c3', startedAt: '2026-11-24T03:00:03.000Z', state: 'ending', seconds: 10 }
    await store.commit([{ kind: 'acw', entry: a }, { kind: 'acw', entry: b }, { kind: 'acw', entry: c }])
    t.strictSame(await store.acw.all(), [b, a, c], 'oldest first; absent fields stay absent')
    const b2: AcwEntry = { ...b, state: 'active', endsAt: '2026-11-24T03:00:46.000Z', interface: 'PJSIP/1002', pauseReason: 'ACW' }
    await store.commit([{ kind: 'acw', entry: b2 }, { kind: 'acwEnded', agentId: '1003' }])
    t.strictSame(await store.acw.all(), [b2, a])
    await store.commit([{ kind: 'acwEnded', agentId: '1001' }, { kind: 'acwEnded', agentId: 'never-paused' }])
    t.strictSame(await store.acw.all(), [b2], 'ending an ACW that is not there is no error')
    // Several changes of one agent's ACW in one commit: the last one counts.
    const a2: AcwEntry = { ...a, state: 'ending' }
    await store.commit([{ kind: 'acw', entry: a }, { kind: 'acwEnded', agentId: '1002' }, { kind: 'acw', entry: a2 }, { kind: 'acw', entry: b }, { kind: 'acwEnded', agentId: '1003' }, { kind: 'acw', entry: c }, { kind: 'acwEnded', agentId: '1003' }])
    t.strictSame(await store.acw.all(), [b, a2], 'saved after ended: there, as last saved; ended after saved: gone')
  })

  t.test(`${engine}: agent sessions: saved, replaced, ended; all() by login time; one agent per interface`, async t => {
    const store = await fresh(t)
    const a: AgentSession = { agentId: '1001', interface: 'PJSIP/2001', queues: ['pln123', 'pln123-vip'], since: '2026-11-24T03:00:02.000Z' }
    const b: AgentSession = { agentId: '1002', interface: 'Local/1002@agents/n', queues: ['pln123'], since: '2026-11-24T03:00:01.000Z', pauseReason: 'SHOLAT', pausedSince: '2026-11-24T03:05:00.000Z', next: { paused: true, reason: 'ISTIRAHAT' } }
    await store.commit([{ kind: 'agentSession', session: a }, { kind: 'agentSession', session: b }])
    t.strictSame(await store.sessions.all(), [b, a], 'by login time; absent fields stay absent, queues and next come back whole')
    const a2: AgentSession = { ...a, pauseReason: 'TOILET', pausedSince: '2026-11-24T03:06:00.000Z', next: { logout: true } }
    const b2: AgentSession = { agentId: b.agentId, interface: b.interface, queues: b.queues, since: b.since }
    await store.commit([{ kind: 'agentSession', session: a2 }, { kind: 'agentSession', session: b2 }])
    t.strictSame(await store.sessions.all(), [b2, a2], 'replaced whole: a pause and a next status that are over are gone')
    await t.rejects(store.commit([{ kind: 'agentSession', session: { agentId: '1003', interface: 'pjsip/2001', queues: ['pln123'], since: '2026-11-24T03:07:00.000Z' } }]),
      'a second agent on the same interface (any case) is refused')
    t.strictSame(await store.sessions.all(), [b2, a2], 'and nothing of it is written')
    await store.commit([{ kind: 'agentSessionEnded', agentId: '1001' }, { kind: 'agentSessionEnded', agentId: 'never-logged-in' }])
    t.strictSame(await store.sessions.all(), [b2], 'a logout of an agent not logged in is no error')
    await store.commit([{ kind: 'agentSession', session: { ...a, agentId: '1003' } }])
    t.strictSame((await store.sessions.all()).map(s => s.agentId), ['1002', '1003'], 'the interface is free again after the logout')
  })

  t.test(`${engine}: audit: newest first, in pages`, async t => {
    const store = await fresh(t)
    const changes: Change[] = Array.from({ length: 7 }, (_, i) => ({
      kind: 'audit',
      entry: { actor: 'sup', role: 'supervisor', action: 'acw.end', target: `t${i}`, ...(i % 2 === 0 ? { details: { i, why: 'test' } } : {}) },
      at: iso(plus(NOW, i * 1000))
    }))
    await store.commit(changes)
    const all = await store.audit.list()
    t.strictSame(all.map(r => r.target), ['t6', 't5', 't4', 't3', 't2', 't1', 't0'])
    t.match(all[0], { actor: 'sup', role: 'supervisor', action: 'acw.end', target: 't6', at: iso(plus(NOW, 6000)) })
    t.strictSame(all[0]?.details, { i: 6, why: 'test' })
    t.strictSame(all[1]?.details, {}, 'no details: an empty object')
    const seqs = all.map(r => r.seq)
    t.strictSame(seqs, [...seqs].sort((x, y) => y - x), 'seq falls along the list')
    const page1 = await store.audit.list({ limit: 3 })
    t.strictSame(page1.map(r => r.target), ['t6', 't5', 't4'])
    const before = Math.min(...page1.map(r => r.seq))
    const page2 = await store.audit.list({ before, limit: 3 })
    t.strictSame(page2.map(r => r.target), ['t3', 't2', 't1'])
    const page3 = await store.audit.list({ before: Math.min(...page2.map(r => r.seq)), limit: 3 })
    t.strictSame(page3.map(r => r.target), ['t0'])
  })

  t.test(`${engine}: an APKT record: pending, due at its time, read back whole; one record per outcome`, async t => {
    const store = await fresh(t)
    const r = record({ callId: 'c1' })
    await store.commit([apkt(r, NOW, 'c1:transfer')])
    const e = await store.outbox.get(r.id)
    t.strictSame(e, { id: r.id, outcomeKey: 'c1:transfer', agentId: r.agentId, callId: 'c1', status: 'pending', attempts: 0, lastError: null, nextAttemptAt: iso(NOW), createdAt: iso(NOW), deliveredAt: null, record: r })
    const twin = record({ callId: 'c1' })
    await t.resolves(store.commit([apkt(twin, plus(NOW, 5), 'c1:transfer')]), 'a second record for the same outcome is ignored, not an error')
    t.equal(await store.outbox.get(twin.id), undefined, 'and not written')
    t.strictSame((await store.outbox.get(r.id))?.record, r, 'the first one stays as it was')
    await store.commit([apkt(record({ callId: 'c1' }), NOW, 'c1:educate')])
    t.match(await store.outbox.stats(NOW), { pending: 2, delivered: 0, dead: 0 }, 'another outcome of the same call is another record')
    t.equal(await store.outbox.get('no-such-id'), undefined)
  })

  t.test(`${engine}: an outcome, its APKT record, the ACW deadline and the audit entry commit together`, async t => {
    const store = await fresh(t)
    const r = record({ callId: 'c1' })
    const acw: AcwEntry = { agentId: '1001', callId: 'c1', startedAt: iso(NOW), endsAt: iso(plus(NOW, 30_000)), state: 'active', seconds: 30 }
    const outcome = (callId: string, rec: ApktRecord): Change[] => [
      { kind: 'call', call: call(callId, 'transferred', { apkt: { recordId: rec.id, permasalahan: rec.permasalahan } }) },
      apkt(rec, NOW, `${callId}:transfer`),
      { kind: 'acw', entry: { ...acw, callId } },
      { kind: 'audit', entry: { actor: '1001', role: 'agent', action: 'transfer', target: callId }, at: iso(NOW) }
    ]
    await store.commit(outcome('c1', r))
    t.equal((await store.calls.get('c1'))?.apkt?.recordId, r.id)
    t.equal((await store.outbox.get(r.id))?.status, 'pending')
    t.strictSame(await store.acw.all(), [acw])
    t.strictSame((await store.audit.list()).map(a => a.target), ['c1'])

    // The same batch for c2, but its record reuses r's id under another outcome key: a
    // constraint the engine refuses. Nothing of the batch may land.
    const bad = outcome('c2', { ...record({ callId: 'c2' }), id: r.id })
    await t.rejects(store.commit(bad), 'a batch the engine refuses rejects')
    t.equal(await store.calls.get('c2'), undefined, 'no call')
    t.strictSame(await store.acw.all(), [acw], 'no ACW change')
    t.strictSame((await store.audit.list()).map(a => a.target), ['c1'], 'no audit entry')
    t.match(await store.outbox.stats(NOW), { pending: 1 }, 'no record')
    t.strictSame((await store.outbox.get(r.id))?.callId, 'c1')

    // After a refused batch the store goes on.
    const r3 = record({ callId: 'c3' })
    await store.commit(outcome('c3', r3))
    t.equal((await store.outbox.get(r3.id))?.callId, 'c3')
  })

  t.test(`${engine}: batches handed in together: each lands or not on its own`, async t => {
    const store = await fresh(t)
    const taken = record({ callId: 'taken' })
    await store.commit([apkt(taken)])
    const audit = (target: string): Change => ({ kind: 'audit', entry: { actor: 'a', role: 'agent', action: 'x', target }, at: iso(NOW) })
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => {
      const bad = i % 7 === 3
      return store.commit([
        { kind: 'call', call: call(`c${i}`, 'ended', { endedAt: iso(NOW) }) },
        audit(`a${i}`),
        bad ? apkt({ ...record({ callId: `c${i}` }), id: taken.id }) : apkt(record({ callId: `c${i}` }))
      ])
    }))
    const badOnes = [3, 10, 17, 24]
    t.strictSame(results.map((r, i) => r.status === 'rejected' ? i : -1).filter(i => i >= 0), badOnes, 'only the refused batches reject')
    for (let i = 0; i < 30; i++) {
      const got = await store.calls.get(`c${i}`)
      if (badOnes.includes(i)) t.equal(got, undefined, `c${i}: nothing of a refused batch`)
      else t.equal(got?.callId, `c${i}`, `c${i}: landed`)
    }
    const targets = (await store.audit.list({ limit: 100 })).map(a => a.target)
    t.strictSame(targets, Array.from({ length: 30 }, (_, i) => `a${i}`).filter((_, i) => !badOnes.includes(i)).reverse(), 'the good batches in the order handed in')
    t.match(await store.outbox.stats(NOW), { pending: 27 })
  })

  t.test(`${engine}: batches land in the order handed in`, async t => {
    const store = await fresh(t)
    const pending: Array<Promise<void>> = []
    for (let i = 0; i < 200; i++) {
      pending.push(store.commit([
        { kind: 'call', call: call('same', 'connected', { callerIdName: `n${i}` }) },
        { kind: 'audit', entry: { actor: 'a', role: 'agent', action: 'x', target: `n${i}` }, at: iso(NOW) }
      ]))
    }
    await Promise.all(pending)
    t.equal((await store.calls.get('same'))?.callerIdName, 'n199', 'the stored call is the last one handed in')
    t.strictSame((await store.audit.list({ limit: 500 })).map(a => a.target), Array.from({ length: 200 }, (_, i) => `n${199 - i}`), 'every batch, in order')
  })

  t.test(`${engine}: claimDue: per agent its oldest pending record, when due, never two of one agent`, async t => {
    const store = await fresh(t)
    const got = await fill(store, ['A', 'B'], 3)
    const a = got.get('A') ?? []
    const b = got.get('B') ?? []
    const now = plus(NOW, 1000)
    const claim = async (at: Date, limit = 10, owner = 'd1'): Promise<string[]> => ids(await store.outbox.claimDue({ now: at, limit, owner, leaseMs: 600_000 }))
    t.strictSame(await claim(NOW), [a[0]], 'only what is due: A0 is due at NOW, B0 1 ms later')
    await store.outbox.release(a[0] as string, 'd1')
    t.strictSame(await claim(now), [a[0], b[0]], 'one per agent, the oldest, oldest first')
    t.strictSame(await claim(now), [], 'an agent whose head is claimed is skipped, even for the same owner')
    await store.outbox.markDelivered(a[0] as string, now)
    t.strictSame(await claim(now), [a[1]], 'A\'s next record once its first is delivered')
    await store.outbox.markFailed(b[0] as string, 'HTTP 500', plus(now, 60_000))
    t.strictSame(await claim(now), [], 'B waits for its failed head: no overtaking while it backs off')
    t.strictSame(await claim(plus(now, 60_000)), [b[0]], 'due again after its back-off')
    await store.outbox.markDead(b[0] as string, 'HTTP 400: bad', true)
    t.strictSame(await claim(plus(now, 60_000)), [b[1]], 'a dead record no longer holds its agent back')
    t.strictSame(await claim(now, 0), [], 'limit 0')
  })

  t.test(`${engine}: claimDue honours its limit, oldest first across agents`, async t => {
    const store = await fresh(t)
    await fill(store, ['A', 'B', 'C', 'D'], 2)
    const got = await store.outbox.claimDue({ now: plus(NOW, 1000), limit: 3, owner: 'd1', leaseMs: 60_000 })
    t.strictSame(got.map(e => e.agentId), ['A', 'B', 'C'])
    t.ok(got.every(e => e.status === 'pending' && e.attempts === 0), 'handed out as pending')
    const rest = await store.outbox.claimDue({ now: plus(NOW, 1000), limit: 3, owner: 'd1', leaseMs: 60_000 })
    t.strictSame(rest.map(e => e.agentId), ['D'])
  })

  t.test(`${engine}: claimDue finds an agent's head behind another agent's long backlog`, async t => {
    const store = await fresh(t)
    const a = (await fill(store, ['A'], 700)).get('A') ?? []
    const b = (await fill(store, ['B'], 1, plus(NOW, 1000))).get('B') ?? []
    const now = plus(NOW, 2000)
    const claim = async (limit = 10): Promise<string[]> => ids(await store.outbox.claimDue({ now, limit, owner: 'd1', leaseMs: 60_000 }))
    t.strictSame(await claim(), [a[0], b[0]], 'B0 comes after 700 records of A, and is A\'s equal: a head')
    await store.outbox.markFailed(a[0] as string, 'HTTP 503', plus(now, 60_000))
    await store.outbox.markDelivered(b[0] as string, now)
    t.strictSame(await claim(), [], 'A waits for its failed head, B has nothing left')
    const c = (await fill(store, ['C'], 1, plus(NOW, 1500))).get('C') ?? []
    t.strictSame(ids(await store.outbox.settleAndClaim([], { now, limit: 10, owner: 'd1', leaseMs: 60_000 })), [c[0]], 'nor does the claim of settleAndClaim miss it')
  })

  t.test(`${engine}: claims are leased: not handed to another owner until the lease runs out`, async t => {
    const store = await fresh(t)
    const got = await fill(store, ['A', 'B'], 2)
    const a0 = got.get('A')?.[0] as string
    const b0 = got.get('B')?.[0] as string
    const now = plus(NOW, 1000)
    const claim = async (owner: string, at: Date): Promise<string[]> => ids(await store.outbox.claimDue({ now: at, limit: 10, owner, leaseMs: 5000 }))
    t.strictSame(await claim('d1', now), [a0, b0])
    t.strictSame(await claim('d2', now), [], 'live claims hold both agents for another owner')
    t.strictSame(await claim('d2', plus(now, 4999)), [], 'still within the lease')
    t.strictSame(await claim('d2', plus(now, 5001)), [a0, b0], 'after the lease, the records are handed out again')
    t.strictSame(await claim('d1', plus(now, 5002)), [], 'now d2 holds them')
    t.equal((await store.outbox.get(a0))?.attempts, 0, 'a lease running out counts no attempt')
  })

  t.test(`${engine}: release and releaseAll give claims back; mark* settle them`, async t => {
    const store = await fresh(t)
    const got = await fill(store, ['A', 'B', 'C'], 2)
    const [a0, a1] = got.get('A') as [string, string]
    const b0 = got.get('B')?.[0] as string
    const c0 = got.get('C')?.[0] as string
    const now = plus(NOW, 1000)
    const claim = async (owner: string, at = now): Promise<string[]> => ids(await store.outbox.claimDue({ now: at, limit: 10, owner, leaseMs: 60_000 }))
    t.strictSame(await claim('d1'), [a0, b0, c0])
    await store.outbox.release(a0, 'd2')
    t.strictSame(await claim('d2'), [], 'another owner cannot give back d1\'s claim')
    await store.outbox.release(a0, 'd1')
    t.strictSame(await claim('d2'), [a0], 'released: claimable at once by anyone')
    t.equal((await store.outbox.get(a0))?.attempts, 0, 'release counts no attempt')
    await store.outbox.releaseAll()
    t.strictSame(await claim('d3'), [a0, b0, c0], 'releaseAll dropped every claim, d1\'s and d2\'s (a dispatcher starting: the next run, or a group\'s next active)')
    t.strictSame(await claim('d1'), [], 'd3\'s claims stay')
    await store.outbox.markFailed(b0, 'HTTP 503', now)
    t.strictSame(await claim('d1'), [b0], 'a failed record due again is claimable by anyone: markFailed cleared the claim')
    await store.outbox.markDelivered(a0, now)
    t.strictSame(await claim('d1'), [a1], 'delivered: the agent\'s next record')
    await store.outbox.release(c0, 'd3')
    await store.outbox.markDead(c0, 'HTTP 400', true)
    t.strictSame(await claim('d1'), [got.get('C')?.[1]], 'dead: the agent\'s next record')
  })

  t.test(`${engine}: settleAndClaim records results as the mark and release calls do, then claims seeing them`, async t => {
    const store = await fresh(t)
    const got = await fill(store, ['A', 'B', 'C', 'D'], 2) // A0 B0 C0 D0 A1 B1 C1 D1
    const [a0, a1] = got.get('A') as [string, string]
    const [b0] = got.get('B') as [string, string]
    const [c0, c1] = got.get('C') as [string, string]
    const [d0, d1] = got.get('D') as [string, string]
    const now = plus(NOW, 1000)
    const lease = { owner: 'd1', leaseMs: 60_000 }
    t.strictSame(ids(await store.outbox.claimDue({ now, limit: 10, ...lease })), [a0, b0, c0, d0])
    const claimed = await store.outbox.settleAndClaim([
      { id: a0, kind: 'delivered', at: plus(now, 5) },
      { id: b0, kind: 'failed', error: 'x'.repeat(600), nextAttemptAt: plus(now, 60_000) },
      { id: c0, kind: 'dead', error: 'HTTP 400: unit unknown', attempted: true },
      { id: d0, kind: 'released', owner: 'd1' }
    ], { now, limit: 10, ...lease })
    t.strictSame(ids(claimed), [d0, a1, c1], 'in the same call: D0 given back and claimed again, A and C offer their next records, B waits for its back-off')
    t.ok(claimed.every(e => e.status === 'pending'), 'handed out as pending')
    t.match(await store.outbox.get(a0), { status: 'delivered', attempts: 1, deliveredAt: iso(plus(now, 5)), nextAttemptAt: null, lastError: null })
    t.match(await store.outbox.get(b0), { status: 'pending', attempts: 1, lastError: `${'x'.repeat(500)}…`, nextAttemptAt: iso(plus(now, 60_000)) }, 'an error clipped as markFailed clips it')
    t.match(await store.outbox.get(c0), { status: 'dead', attempts: 1, lastError: 'HTTP 400: unit unknown', nextAttemptAt: null })
    t.match(await store.outbox.get(d0), { status: 'pending', attempts: 0 }, 'a release counts no attempt')
    t.strictSame(await store.outbox.stats(now), { pending: 6, delivered: 1, dead: 1, oldestPendingAgeMs: 999 }, 'the counts follow')
    t.strictSame(ids(await store.outbox.claimDue({ now, limit: 10, owner: 'd2', leaseMs: 60_000 })), [], 'what it claimed is leased like any claim')

    t.strictSame(await store.outbox.settleAndClaim([{ id: d0, kind: 'released', owner: 'd2' }]), [], 'no claim asked: none made')
    t.strictSame(ids(await store.outbox.claimDue({ now, limit: 10, owner: 'd2', leaseMs: 60_000 })), [], 'another owner cannot give back d1\'s claim')
    const stray = await store.outbox.settleAndClaim([
      { id: a0, kind: 'delivered', at: plus(now, 9000) },
      { id: c0, kind: 'failed', error: 'late', nextAttemptAt: now },
      { id: a0, kind: 'dead', error: 'late', attempted: true },
      { id: 'no-such-id', kind: 'delivered', at: now }
    ], { now, limit: 0, ...lease })
    t.strictSame(stray, [], 'limit 0 claims nothing')
    t.match(await store.outbox.get(a0), { status: 'delivered', attempts: 1, deliveredAt: iso(plus(now, 5)) }, 'a settled record is not changed by a stray result')
    t.match(await store.outbox.get(c0), { status: 'dead', attempts: 1, lastError: 'HTTP 400: unit unknown' })
    t.strictSame(await store.outbox.settleAndClaim([]), [], 'nothing to do')
    await store.outbox.settleAndClaim([{ id: d0, kind: 'dead', error: 'expired', attempted: false }, { id: a1, kind: 'delivered', at: now }, { id: c1, kind: 'delivered', at: now }])
    t.strictSame(ids(await store.outbox.settleAndClaim([], { now: plus(now, 60_000), limit: 10, ...lease })), [b0, d1], 'a claim alone, as claimDue: B0 due again, D1 after its dead head')
    t.match(await store.outbox.get(d0), { status: 'dead', attempts: 0 }, 'dying without an attempt counts none')
  })

  t.test(`${engine}: results: attempts, last error clipped, next attempt, delivered time`, async t => {
    const store = await fresh(t)
    const r = record()
    await store.commit([apkt(r)])
    await store.outbox.claimDue({ now: NOW, limit: 1, owner: 'd1', leaseMs: 60_000 })
    await store.outbox.markFailed(r.id, 'HTTP 503: busy', plus(NOW, 5000))
    t.match(await store.outbox.get(r.id), { status: 'pending', attempts: 1, lastError: 'HTTP 503: busy', nextAttemptAt: iso(plus(NOW, 5000)), deliveredAt: null })
    await store.outbox.claimDue({ now: plus(NOW, 5000), limit: 1, owner: 'd1', leaseMs: 60_000 })
    await store.outbox.markDelivered(r.id, plus(NOW, 6000))
    t.match(await store.outbox.get(r.id), { status: 'delivered', attempts: 2, deliveredAt: iso(plus(NOW, 6000)), nextAttemptAt: null, lastError: 'HTTP 503: busy' })
    await store.outbox.markFailed(r.id, 'late', NOW)
    await store.outbox.markDead(r.id, 'late', true)
    await store.outbox.markDelivered(r.id, plus(NOW, 9000))
    t.match(await store.outbox.get(r.id), { status: 'delivered', attempts: 2, deliveredAt: iso(plus(NOW, 6000)), lastError: 'HTTP 503: busy' }, 'a settled record is not changed by a stray result')

    const long = record()
    await store.commit([apkt(long)])
    await store.outbox.markFailed(long.id, 'x'.repeat(5000), NOW)
    t.equal((await store.outbox.get(long.id))?.lastError, `${'x'.repeat(500)}…`, 'a huge error page is clipped to 500 characters and marked')
    await store.outbox.markDead(long.id, 'y'.repeat(501), true)
    t.match(await store.outbox.get(long.id), { status: 'dead', attempts: 2, lastError: `${'y'.repeat(500)}…`, nextAttemptAt: null })
    const exact = record()
    await store.commit([apkt(exact)])
    await store.outbox.markDead(exact.id, 'z'.repeat(500), false)
    t.match(await store.outbox.get(exact.id), { status: 'dead', attempts: 0, lastError: 'z'.repeat(500) }, 'dying without an attempt counts none; 500 characters are kept whole')
  })

  t.test(`${engine}: retry: dead -> pending, due now, history kept; unknown and not-dead refused`, async t => {
    const store = await fresh(t)
    const r = record()
    await store.commit([apkt(r)])
    await store.outbox.claimDue({ now: NOW, limit: 1, owner: 'd1', leaseMs: 60_000 })
    await store.outbox.markDead(r.id, 'HTTP 400: unit unknown', true)
    t.match(await store.outbox.get(r.id), { status: 'dead', attempts: 1, nextAttemptAt: null })
    const later = plus(NOW, 2 * 3600_000)
    const e = await store.outbox.retry(r.id, later)
    t.match(e, { id: r.id, status: 'pending', attempts: 1, nextAttemptAt: iso(later), lastError: 'HTTP 400: unit unknown' })
    t.strictSame(e.record, r)
    t.strictSame(await store.outbox.get(r.id), e, 'what retry answers is what is stored')
    t.match(await store.outbox.stats(later), { pending: 1, dead: 0 })
    t.strictSame(ids(await store.outbox.claimDue({ now: later, limit: 1, owner: 'd2', leaseMs: 60_000 })), [r.id], 'claimable at once')
    await t.rejects(store.outbox.retry(r.id, later), new OutboxError('RECORD_NOT_DEAD', `APKT record ${r.id} is pending; only a dead record can be retried`))
    const err = await store.outbox.retry('no-such-id', later).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof OutboxError, 'an OutboxError')
    t.match(err, { code: 'RECORD_NOT_FOUND' })
  })

  t.test(`${engine}: list, entries and stats`, async t => {
    const store = await fresh(t)
    const got = await fill(store, ['A', 'B'], 3) // A0 B0 A1 B1 A2 B2
    const all = [0, 1, 2].flatMap(i => [got.get('A')?.[i], got.get('B')?.[i]]) as string[]
    const [a0, b0] = all as [string, string]
    t.strictSame(await store.outbox.stats(NOW), { pending: 6, delivered: 0, dead: 0, oldestPendingAgeMs: 0 })
    await store.outbox.claimDue({ now: plus(NOW, 1000), limit: 2, owner: 'd1', leaseMs: 60_000 })
    await store.outbox.markDelivered(a0, plus(NOW, 1000))
    await store.outbox.markDead(b0, 'HTTP 422', true)
    t.strictSame(ids(await store.outbox.list()), [...all].reverse(), 'newest first')
    t.strictSame(ids(await store.outbox.list({ limit: 2 })), [all[5], all[4]])
    t.strictSame(ids(await store.outbox.list({ status: 'dead' })), [b0])
    t.strictSame(ids(await store.outbox.list({ status: 'delivered' })), [a0])
    t.strictSame(ids(await store.outbox.list({ status: 'pending', limit: 3 })), [all[5], all[4], all[3]])
    t.strictSame(ids(await collect(store.outbox.entries())), all, 'entries: creation order')
    t.strictSame(ids(await collect(store.outbox.entries({ status: 'pending' }))), all.slice(2))
    t.strictSame(ids(await collect(store.outbox.entries({ status: 'dead' }))), [b0])
    // The oldest pending record is A1, created 2 ms after NOW.
    t.strictSame(await store.outbox.stats(plus(NOW, 5000)), { pending: 4, delivered: 1, dead: 1, oldestPendingAgeMs: 4998 })
    const empty = await fresh(t)
    t.strictSame(await empty.outbox.stats(NOW), { pending: 0, delivered: 0, dead: 0, oldestPendingAgeMs: null })
    t.strictSame(await collect(empty.outbox.entries()), [])
  })

  t.test(`${engine}: entries reads a large outbox whole, in creation order`, async t => {
    const store = await fresh(t)
    const got = await fill(store, ['A', 'B', 'C'], 400)
    const created = [...Array(400).keys()].flatMap(i => ['A', 'B', 'C'].map(a => got.get(a)?.[i]))
    const seen: string[] = []
    for await (const e of store.outbox.entries()) seen.push(e.id)
    t.equal(seen.length, 1200)
    t.strictSame(seen, created)
    let taken = 0
    for await (const _ of store.outbox.entries()) { if (++taken === 5) break } // leaving early frees the reader
    t.equal(taken, 5)
    await store.commit([apkt(record())])
    t.match(await store.outbox.stats(NOW), { pending: 1201 }, 'the store still writes after an abandoned read')
  })

  t.test(`${engine}: two claimers on one database never get the same record`, async t => {
    const one = await fresh(t)
    const two = await another(t, one)
    const agents = Array.from({ length: 20 }, (_, i) => `ag${i}`)
    const got = await fill(one, agents, 4)
    const total = agents.length * 4
    const claimedBy = new Map<string, string>()
    const deliveredOrder = new Map<string, string[]>()
    const now = plus(NOW, 10_000)
    let twice = 0
    const run = async (store: Store, owner: string): Promise<void> => {
      for (let round = 0; round < 500 && claimedBy.size < total; round++) {
        const claimed = await store.outbox.claimDue({ now, limit: 3, owner, leaseMs: 60_000 })
        for (const e of claimed) {
          if (claimedBy.has(e.id)) twice++
          claimedBy.set(e.id, owner)
        }
        await new Promise(resolve => setImmediate(resolve))
        for (const e of claimed) {
          await store.outbox.markDelivered(e.id, now)
          const list = deliveredOrder.get(e.agentId) ?? []
          list.push(e.id)
          deliveredOrder.set(e.agentId, list)
        }
      }
    }
    await Promise.all([run(one, 'd1'), run(two, 'd2'), run(one, 'd3'), run(two, 'd4')])
    t.equal(twice, 0, 'no record was handed out twice')
    t.equal(claimedBy.size, total, 'every record handed out once')
    t.match(await one.outbox.stats(now), { pending: 0, delivered: total })
    for (const a of agents) t.strictSame(deliveredOrder.get(a), got.get(a), `${a}: delivered in creation order`)
    t.ok(new Set(claimedBy.values()).size > 1, 'the work was shared')
  })

  t.test(`${engine}: two dispatchers settling and claiming in one call each never get the same record, nor two of an agent`, async t => {
    const one = await fresh(t)
    const two = await another(t, one)
    const agents = Array.from({ length: 20 }, (_, i) => `ag${i}`)
    const got = await fill(one, agents, 4)
    const total = agents.length * 4
    const now = plus(NOW, 10_000)
    const claimedBy = new Map<string, string>()
    const held = new Map<string, string>() // agent -> owner holding one of its records now
    const deliveredOrder = new Map<string, string[]>()
    let twice = 0
    let overlap = 0
    const run = async (store: Store, owner: string): Promise<void> => {
      let mine: OutboxEntry[] = []
      for (let round = 0; round < 500 && (claimedBy.size < total || mine.length > 0); round++) {
        const results = mine.map(e => ({ id: e.id, kind: 'delivered' as const, at: now }))
        for (const e of mine) {
          held.delete(e.agentId)
          deliveredOrder.set(e.agentId, [...(deliveredOrder.get(e.agentId) ?? []), e.id])
        }
        mine = await store.outbox.settleAndClaim(results, { now, limit: 3, owner, leaseMs: 60_000 })
        for (const e of mine) {
          if (claimedBy.has(e.id)) twice++
          if (held.has(e.agentId)) overlap++
          claimedBy.set(e.id, owner)
          held.set(e.agentId, owner)
        }
        await new Promise(resolve => setImmediate(resolve))
      }
    }
    await Promise.all([run(one, 'd1'), run(two, 'd2'), run(one, 'd3'), run(two, 'd4')])
    t.equal(twice, 0, 'no record was handed out twice')
    t.equal(overlap, 0, 'never two records of one agent held at once')
    t.equal(claimedBy.size, total, 'every record handed out once')
    t.match(await one.outbox.stats(now), { pending: 0, delivered: total })
    for (const a of agents) t.strictSame(deliveredOrder.get(a), got.get(a), `${a}: delivered in creation order`)
    t.ok(new Set(claimedBy.values()).size > 1, 'the work was shared')
  })

  t.test(`${engine}: retention deletes only what the policy lets go`, async t => {
    const store = await fresh(t)
    const OLD = plus(NOW, -500 * DAY)
    const RECENT = plus(NOW, -10 * DAY)
    const cutoff = iso(plus(NOW, -400 * DAY))
    const ended = (id: string, at: Date): Change => ({ kind: 'call', call: call(id, 'ended', { offeredAt: iso(at), endedAt: iso(at) }) })
    const audit = (target: string, at: Date): Change => ({ kind: 'audit', entry: { actor: 'sup', role: 'supervisor', action: 'test', target }, at: iso(at) })
    const recs = {
      oldDelivered: record({ callId: 'c-old-delivered-record' }),
      newDelivered: record({ callId: 'c-new-delivered' }),
      pending: record({ callId: 'c-old-pending-record' }),
      dead: record({ callId: 'c-old-dead-record' })
    }
    await store.commit([
      ended('c-old-ended', OLD),
      { kind: 'call', call: call('c-old-transferred-ended', 'transferred', { offeredAt: iso(OLD), endedAt: iso(OLD) }) },
      ended('c-new-ended', RECENT),
      ended('c-old-pending-record', OLD),
      ended('c-old-dead-record', OLD),
      ended('c-old-delivered-record', OLD),
      { kind: 'call', call: call('c-old-live', 'connected', { offeredAt: iso(OLD) }) },
      { kind: 'call', call: call('c-old-live-transferring', 'transferring', { offeredAt: iso(OLD) }) },
      { kind: 'call', call: call('c-transferred-open', 'transferred', { offeredAt: iso(OLD) }) },
      audit('old-1', OLD), audit('old-2', OLD), audit('old-3', OLD), audit('new-1', RECENT), audit('new-2', RECENT),
      apkt(recs.oldDelivered, OLD), apkt(recs.newDelivered, OLD), apkt(recs.pending, OLD), apkt(recs.dead, OLD)
    ])
    await store.outbox.markDelivered(recs.oldDelivered.id, OLD)
    await store.outbox.markDelivered(recs.newDelivered.id, RECENT) // created long ago, delivered recently: kept
    await store.outbox.markDead(recs.dead.id, 'HTTP 400', true)

    // c-old-delivered-record's record is delivered: no longer open, so its call may go.
    t.equal(await store.retention.countOld('calls', cutoff), 3, 'dry run: calls')
    t.equal(await store.retention.countOld('audit', cutoff), 3, 'dry run: audit')
    t.equal(await store.retention.countOld('apktDelivered', cutoff), 1, 'dry run: delivered records')

    const pass = async (table: 'calls' | 'audit' | 'apktDelivered', at: string): Promise<{ deleted: number, batches: number }> => {
      let after: string | undefined
      let deleted = 0
      let batches = 0
      do {
        const res = await store.retention.deleteBatch(table, at, 2, after)
        deleted += res.deleted
        after = res.after
        batches++
      } while (after !== undefined && batches < 100)
      return { deleted, batches }
    }
    const auditPass = await pass('audit', cutoff)
    t.equal(auditPass.deleted, 3)
    t.ok(auditPass.batches >= 2, 'in batches of at most 2')
    t.strictSame((await store.audit.list()).map(a => a.target).sort(), ['new-1', 'new-2'])
    t.equal((await pass('apktDelivered', cutoff)).deleted, 1)
    t.equal(await store.outbox.get(recs.oldDelivered.id), undefined)
    t.strictSame(await store.outbox.stats(NOW), { pending: 1, delivered: 1, dead: 1, oldestPendingAgeMs: 500 * DAY }, 'counts follow deleted records')
    t.equal((await pass('calls', cutoff)).deleted, 3)
    for (const id of ['c-old-ended', 'c-old-transferred-ended', 'c-old-delivered-record']) t.equal(await store.calls.get(id), undefined, `${id} gone`)
    for (const id of ['c-new-ended', 'c-old-pending-record', 'c-old-dead-record', 'c-old-live', 'c-old-live-transferring', 'c-transferred-open']) t.ok(await store.calls.get(id), `${id} kept`)
    t.ok(await store.outbox.get(recs.pending.id), 'a pending record is never deleted')
    t.ok(await store.outbox.get(recs.dead.id), 'a dead record is never deleted')
    t.equal(await store.retention.countOld('calls', cutoff), 0)
    t.equal((await pass('calls', cutoff)).deleted, 0, 'a second pass finds nothing')

    // With a cutoff in the future every closed call is old: still never a live call or one with an open record.
    const future = iso(plus(new Date(), DAY))
    t.equal(await store.retention.countOld('calls', future), 2, 'c-new-ended and the transferred call aged by its last change')
    t.equal((await pass('calls', future)).deleted, 2)
    const left = (await Promise.all(['c-old-pending-record', 'c-old-dead-record', 'c-old-live', 'c-old-live-transferring'].map(async id => await store.calls.get(id)))).filter(c => c !== undefined)
    t.equal(left.length, 4, 'live calls and calls with an open record stay')
    t.equal((await pass('apktDelivered', future)).deleted, 1)
    t.match(await store.outbox.stats(NOW), { pending: 1, delivered: 0, dead: 1 }, 'pending and dead records stay')
  })

  t.test(`${engine}: agents and tokens: upserted, removed with their tokens, revoked but one; the version counts every change`, async t => {
    const store = await fresh(t)
    t.equal(await store.agents.version(), 0, 'no change yet: version 0')
    t.strictSame(await store.agents.all(), [])
    t.strictSame(await store.agents.tokens(), [])
    const a: Agent = { id: '2001', name: 'Siti', interface: 'PJSIP/2001', queues: ['pln123', 'vip'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }
    const b: Agent = { id: '2000', queues: ['pln123'], unit: 'DISTRIBUSI JAWA BARAT', unitPelayanan: 'UP3 BANDUNG', memberName: 'Agent 2000' }
    await store.commit([{ kind: 'agent', agent: a, at: iso(NOW) }, { kind: 'agent', agent: b, at: iso(NOW) }])
    t.strictSame(await store.agents.all(), [b, a], 'by id; absent fields stay absent')
    t.equal(await store.agents.version(), 2, 'one bump per change')
    const a2: Agent = { ...a, interface: 'PJSIP/2101', queues: ['pln123'] }
    delete a2.name
    await store.commit([{ kind: 'agent', agent: a2, at: iso(plus(NOW, 1000)) }])
    t.strictSame(await store.agents.all(), [b, a2], 'replaced whole')
    const c: Agent = { id: '2002', interface: 'Local/2002@agents/n', queues: ['pln123'], unit: 'X', unitPelayanan: 'Y' }
    await store.commit([{ kind: 'agent', agent: c, at: iso(NOW), fromConfig: true }])
    t.strictSame((await store.agents.all())[2], { ...c, fromConfig: true }, 'the config file\'s agent is marked so')
    await store.commit([{ kind: 'agent', agent: c, at: iso(NOW) }, { kind: 'agentRemoved', agentId: '2002', at: iso(NOW) }])
    t.strictSame(await store.agents.all(), [b, a2], 'the mark follows the last write')

    const tok = (digest: string, agentId: string, name: string, at: Date): Change => ({ kind: 'agentToken', token: { digest, agentId, name }, at: iso(at) })
    await store.commit([tok('d-a1', '2001', 'first', plus(NOW, 1)), tok('d-a2', '2001', 'second', plus(NOW, 2)), tok('d-b1', '2000', 'b', plus(NOW, 3)), tok('d-a3', '2001', 'third', plus(NOW, 4))])
    t.strictSame(await store.agents.tokens(), [
      { digest: 'd-a1', agentId: '2001', name: 'first', createdAt: iso(plus(NOW, 1)) },
      { digest: 'd-a2', agentId: '2001', name: 'second', createdAt: iso(plus(NOW, 2)) },
      { digest: 'd-b1', agentId: '2000', name: 'b', createdAt: iso(plus(NOW, 3)) },
      { digest: 'd-a3', agentId: '2001', name: 'third', createdAt: iso(plus(NOW, 4)) }
    ], 'active tokens, oldest first')
    await t.rejects(store.commit([tok('d-a1', '2000', 'again', NOW)]), 'a digest is issued once')
    const before = await store.agents.version()
    t.equal(before, 10)

    await store.commit([{ kind: 'agentTokensRevoked', agentId: '2001', except: 'd-a3', at: iso(plus(NOW, 5)) }])
    t.strictSame((await store.agents.tokens()).map(x => x.digest), ['d-b1', 'd-a3'], 'the agent\'s others revoked; other agents\' kept')
    await store.commit([{ kind: 'agentTokensRevoked', agentId: '2000', at: iso(plus(NOW, 6)) }])
    t.strictSame((await store.agents.tokens()).map(x => x.digest), ['d-a3'], 'without except: all of the agent\'s')

    await store.commit([{ kind: 'agentRemoved', agentId: '2001', at: iso(plus(NOW, 7)) }, { kind: 'agentRemoved', agentId: 'never-there', at: iso(plus(NOW, 7)) }])
    t.strictSame(await store.agents.all(), [b], 'removed; removing an unknown agent is no error')
    t.strictSame(await store.agents.tokens(), [], 'its tokens revoked with it')
    await store.commit([{ kind: 'agent', agent: a, at: iso(plus(NOW, 8)) }])
    t.strictSame(await store.agents.tokens(), [], 'a revoked token stays revoked when the id comes back')
    t.equal(await store.agents.version(), before + 5)

    // A batch the store refuses bumps nothing: the version moves only with a change.
    const v = await store.agents.version()
    await t.rejects(store.commit([{ kind: 'agent', agent: { ...b, unit: 'X' }, at: iso(NOW) }, tok('d-a3', '2001', 'dup', NOW)]))
    t.equal(await store.agents.version(), v, 'a refused batch leaves the version')
    t.strictSame(await store.agents.all(), [b, a], 'and the agents')

    const other = await another(t, store)
    t.equal(await other.agents.version(), v, 'another store on the database sees the same version')
    t.strictSame(await other.agents.all(), [b, a])
  })

  reportsContract(t, engine, fresh)

  t.test(`${engine}: close waits for commits in flight, then refuses`, async t => {
    const store = await fresh(t)
    const inflight = Array.from({ length: 20 }, async (_, i) => await store.commit([{ kind: 'call', call: call(`c${i}`, 'connected') }]))
    await store.close()
    t.equal(store.open, false)
    const results = await Promise.allSettled(inflight)
    t.ok(results.every(r => r.status === 'fulfilled'), 'every commit handed in before close resolved')
    await t.rejects(store.commit([{ kind: 'call', call: call('late', 'connected') }]), 'a commit after close rejects')
    await t.rejects(store.check(), 'check after close rejects')
    const again = await another(t, store)
    t.strictSame(again.migrated, [], 'the schema is current: nothing to migrate')
    const got = await Promise.all(Array.from({ length: 20 }, async (_, i) => await again.calls.get(`c${i}`)))
    t.ok(got.every((c, i) => c?.callId === `c${i}`), 'what was committed before close is there after reopening')
    t.equal(await again.calls.get('late'), undefined)
  })
}
