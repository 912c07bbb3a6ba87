// The reports' part of the store contract (contract.ts calls it on every engine): report
// facts committed as Changes come back as the rows of CONTRACT.md section 8, in
// Asia/Jakarta's hours and days, and retention purges them with the rest.
import type { Test } from 'tap'
import { buildApktRecord } from '../../src/apkt/record.ts'
import type { FactKind, ReportFact } from '../../src/reports/fact.ts'
import type { Change, Store } from '../../src/store/port.ts'

const HOUR = 3_600_000
const DAY = 86_400_000
const iso = (ms: number): string => new Date(ms).toISOString()
/** 00:00 Jakarta of a date, as the instant the routes pass. */
const jakartaMidnight = (date: string): Date => new Date(Date.parse(`${date}T00:00:00.000+07:00`))

let seq = 0
function fact (kind: FactKind, countsAt: string, o: Partial<ReportFact> = {}): Change {
  return { kind: 'reportFact', fact: { id: o.id ?? `${kind}:${++seq}`, kind, at: o.at ?? countsAt, countsAt, ...o } }
}

function apkt (callId: string, at: string): Change {
  const record = buildApktRecord({
    callId,
    agentId: '1001',
    topic: 'activation',
    apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'ICONNET : TRANSFER CALL' },
    customer: { name: 'Budi', customerId: null },
    unit: 'DISTRIBUSI JAKARTA RAYA',
    unitPelayanan: 'UP3 TANJUNG PRIOK',
    at: new Date(at)
  })
  return { kind: 'apktRecord', record, outcomeKey: `${callId}:transfer`, at }
}

export function reportsContract (t: Test, engine: string, fresh: (t: Test) => Promise<Store>): void {
  t.test(`${engine}: reports: a call at 16:59:59Z and one at 17:00:00Z fall in different Jakarta days and hours`, async t => {
    const store = await fresh(t)
    await store.commit([
      fact('joined', '2026-11-30T16:59:59.000Z', { callId: 'a' }),
      fact('joined', '2026-11-30T17:00:00.000Z', { callId: 'b' }),
      fact('joined', '2026-12-01T16:59:59.999Z', { callId: 'c' }),
      fact('joined', '2026-12-01T17:00:00.000Z', { callId: 'd' }) // 2 December in Jakarta: outside
    ])
    // from 2026-11-30 to 2026-12-01 inclusive: the caller passes the exclusive instant (2 December 00:00 Jakarta).
    const days = await store.reports.summary({ from: jakartaMidnight('2026-11-30'), to: jakartaMidnight('2026-12-02'), interval: 'day', serviceLevelSeconds: 20 })
    t.strictSame(days.map(d => [d.interval, d.offered]), [['2026-11-30T00:00:00+07:00', 1], ['2026-12-01T00:00:00+07:00', 2]])
    const hours = await store.reports.summary({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-02'), interval: 'hour', serviceLevelSeconds: 20 })
    t.equal(hours.length, 24, 'every hour of the day, empty ones too')
    t.strictSame(hours.filter(h => h.offered > 0).map(h => [h.interval, h.offered]), [['2026-12-01T00:00:00+07:00', 1], ['2026-12-01T23:00:00+07:00', 1]])
    t.equal(hours[1]?.serviceLevel, null, 'no service level where none was offered')
    t.equal(hours[1]?.avgWaitSeconds, null)
  })

  t.test(`${engine}: reports: the summary's figures from the facts, by the hour the caller joined`, async t => {
    const store = await fresh(t)
    const h9 = Date.parse('2026-12-01T02:00:00.000Z') // 09:00 Jakarta
    const h10 = h9 + HOUR
    const at = (base: number, s: number): string => iso(base + s * 1000)
    await store.commit([
      fact('joined', at(h9, 1), { callId: 'c1' }),
      fact('joined', at(h9, 2), { callId: 'c2' }),
      fact('joined', at(h9, 3), { callId: 'c3' }),
      fact('joined', at(h9, 3500), { callId: 'c4' }),
      // c1 answered after 10 s, c2 after exactly 20 s (within), c4 after 200 s: answered in the
      // next hour, counted in the hour it joined.
      fact('answered', at(h9, 1), { id: 'answered:c1', callId: 'c1', agentId: '1001', seconds: 10, at: at(h9, 11) }),
      fact('answered', at(h9, 2), { id: 'answered:c2', callId: 'c2', agentId: '1002', seconds: 20, at: at(h9, 22) }),
      fact('answered', at(h9, 3500), { id: 'answered:c4', callId: 'c4', agentId: '1001', seconds: 200, at: at(h10, 100) }),
      fact('abandoned', at(h9, 3), { callId: 'c3', seconds: 45, at: at(h9, 48) }),
      fact('topic', at(h9, 1), { callId: 'c1', key: 'activation' }),
      fact('topic', at(h9, 2), { callId: 'c2', key: 'coverage' }),
      fact('topic', at(h9, 3500), { callId: 'c4', key: 'activation' }),
      fact('transfer', at(h9, 1), { callId: 'c1', agentId: '1001', key: 'completed' }),
      fact('transfer', at(h9, 3500), { callId: 'c4', agentId: '1001', key: 'failed' }),
      fact('landing', at(h9, 1), { callId: 'c1', key: 'answered' }),
      fact('talk', at(h9, 1), { callId: 'c1', agentId: '1001', seconds: 60 }),
      fact('talk', at(h9, 2), { callId: 'c2', agentId: '1002', seconds: 30.5 }),
      fact('acw', at(h9, 70), { agentId: '1001', seconds: 30 }),
      fact('acw', at(h10, 10), { agentId: '1002', seconds: 30 }),
      fact('pause', at(h9, 100), { agentId: '1002', key: 'ISTIRAHAT', seconds: 600 }),
      fact('pause', at(h9, 200), { agentId: '1001', key: 'SHOLAT', seconds: 300 }),
      fact('pause', at(h9, 900), { agentId: '1001', key: 'ISTIRAHAT', seconds: 120 }),
      fact('wrapup', at(h9, 1), { callId: 'c1', agentId: '1001', key: 'TRANSFER_ICONNET' }),
      fact('wrapup', at(h9, 2), { callId: 'c2', agentId: '1002', key: 'SELESAI' }),
      apkt('c1', at(h9, 80)), apkt('c5', at(h9, 90)), apkt('c6', at(h10, 5))
    ])
    // The same fact handed in again (an event seen twice) is not counted twice.
    await store.commit([fact('answered', at(h9, 1), { id: 'answered:c1', callId: 'c1', agentId: '1001', seconds: 10 })])
    const [delivered] = (await store.outbox.list()).filter(e => e.callId === 'c5')
    if (delivered !== undefined) await store.outbox.markDelivered(delivered.id, new Date(h10))
    const [dead] = (await store.outbox.list()).filter(e => e.callId === 'c6')
    if (dead !== undefined) await store.outbox.markDead(dead.id, 'HTTP 400', true)

    const rows = await store.reports.summary({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-02'), interval: 'hour', serviceLevelSeconds: 20 })
    const nine = rows.find(r => r.interval === '2026-12-01T09:00:00+07:00')
    const ten = rows.find(r => r.interval === '2026-12-01T10:00:00+07:00')
    t.strictSame(nine, {
      interval: '2026-12-01T09:00:00+07:00',
      offered: 4,
      answered: 3,
      abandoned: 1,
      serviceLevel: 0.5, // 2 of the 4 offered within 20 s
      avgWaitSeconds: 76.7, // (10 + 20 + 200) / 3
      byTopic: { activation: 2, coverage: 1 },
      transfers: { completed: 1, failed: 1, answeredAtTarget: 1, abandonedAtTarget: 0 },
      acwSeconds: 30,
      pauseSeconds: { ISTIRAHAT: 720, SHOLAT: 300 },
      wrapups: { TRANSFER_ICONNET: 1, SELESAI: 1 },
      apkt: { delivered: 1, dead: 0, pending: 1 }
    })
    t.match(ten, { offered: 0, answered: 0, serviceLevel: null, acwSeconds: 30, apkt: { delivered: 0, dead: 1, pending: 0 } })
    const sl10 = await store.reports.summary({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-02'), interval: 'hour', serviceLevelSeconds: 10 })
    t.equal(sl10.find(r => r.interval === nine?.interval)?.serviceLevel, 0.25, 'the service level follows the threshold asked')
    const day = await store.reports.summary({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-02'), interval: 'day', serviceLevelSeconds: 20 })
    t.match(day, [{ interval: '2026-12-01T00:00:00+07:00', offered: 4, answered: 3, acwSeconds: 60, apkt: { delivered: 1, dead: 1, pending: 1 } }])
    const before = await store.reports.summary({ from: jakartaMidnight('2026-11-30'), to: jakartaMidnight('2026-12-01'), interval: 'day', serviceLevelSeconds: 20 })
    t.match(before, [{ offered: 0, apkt: { delivered: 0, dead: 0, pending: 0 } }], 'the day before holds nothing')

    t.strictSame(await store.reports.agents({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-02') }), [
      { agentId: '1001', calls: 2, talkSeconds: 60, acwSeconds: 30, pauseSeconds: { SHOLAT: 300, ISTIRAHAT: 120 }, transfers: 1, wrapups: { TRANSFER_ICONNET: 1 } },
      { agentId: '1002', calls: 1, talkSeconds: 30.5, acwSeconds: 30, pauseSeconds: { ISTIRAHAT: 600 }, transfers: 0, wrapups: { SELESAI: 1 } }
    ])
    t.strictSame(await store.reports.agents({ from: jakartaMidnight('2026-12-02'), to: jakartaMidnight('2026-12-03') }), [], 'another day: no agent rows')
  })

  t.test(`${engine}: reports: the agents' report sums whole Jakarta days of the range`, async t => {
    const store = await fresh(t)
    await store.commit([
      fact('answered', '2026-11-30T16:59:59.000Z', { agentId: '1001', seconds: 5 }), // 30 Nov Jakarta
      fact('answered', '2026-11-30T17:00:00.000Z', { agentId: '1001', seconds: 5 }), // 1 Dec
      fact('answered', '2026-12-02T16:59:00.000Z', { agentId: '1001', seconds: 5 }), // 2 Dec
      fact('answered', '2026-12-02T17:00:00.000Z', { agentId: '1001', seconds: 5 }) // 3 Dec
    ])
    t.match(await store.reports.agents({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-03') }), [{ agentId: '1001', calls: 2 }])
    t.match(await store.reports.agents({ from: jakartaMidnight('2026-11-30'), to: jakartaMidnight('2026-12-04') }), [{ agentId: '1001', calls: 4 }])
  })

  t.test(`${engine}: reports: retention purges facts and rollups older than the cutoff, in batches`, async t => {
    const store = await fresh(t)
    const old = Date.parse('2025-01-10T05:00:00.000Z')
    const recent = Date.parse('2026-12-01T05:00:00.000Z')
    await store.commit([
      fact('joined', iso(old)), fact('answered', iso(old), { agentId: '1001', seconds: 3 }), fact('wrapup', iso(old), { agentId: '1001', key: 'SELESAI' }),
      fact('joined', iso(recent)), fact('answered', iso(recent), { agentId: '1001', seconds: 3 })
    ])
    const cutoff = iso(recent - 30 * DAY)
    // Old: 3 facts, hourly offered, answered, wait, wrapup (4), the agent's day calls, wrapup (2).
    t.equal(await store.retention.countOld('reports', cutoff), 9, 'dry run: facts and rollup rows')
    let after: string | undefined
    let deleted = 0
    let batches = 0
    do {
      const res = await store.retention.deleteBatch('reports', cutoff, 2, after)
      deleted += res.deleted
      after = res.after
      batches++
    } while (after !== undefined && batches < 50)
    t.equal(deleted, 9)
    t.ok(batches >= 5, 'in batches of at most 2')
    t.equal(await store.retention.countOld('reports', cutoff), 0)
    const olds = await store.reports.summary({ from: jakartaMidnight('2025-01-10'), to: jakartaMidnight('2025-01-11'), interval: 'day', serviceLevelSeconds: 20 })
    t.match(olds, [{ offered: 0, answered: 0, wrapups: {} }], 'the old day is empty')
    t.strictSame(await store.reports.agents({ from: jakartaMidnight('2025-01-10'), to: jakartaMidnight('2025-01-11') }), [])
    t.match(await store.reports.summary({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-02'), interval: 'day', serviceLevelSeconds: 20 }),
      [{ offered: 1, answered: 1, serviceLevel: 1 }], 'the recent day is kept')
    t.match(await store.reports.agents({ from: jakartaMidnight('2026-12-01'), to: jakartaMidnight('2026-12-02') }), [{ agentId: '1001', calls: 1 }])
  })
}
