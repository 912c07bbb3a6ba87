// A small, known history of report facts for the report API and page tests, written
// through the store's commit path (the journal's and the tracker's way in): two Jakarta
// days, 1 and 2 December 2026, calls on both sides of the midnight between them and one
// just before the range, and codes and an agent id a spreadsheet would run as formulas.
import type { ReportFact } from '../../src/reports/fact.ts'
import type { Store } from '../../src/store/port.ts'

export const RANGE = { from: '2026-12-01', to: '2026-12-02' }
/** An agent created through the admin API with a name a spreadsheet would run. */
export const FORMULA_AGENT = { id: '1003', name: '=HYPERLINK("http://x")' }
export const FORMULA_WRAPUP = '-2+3'
export const FORMULA_AGENT_ID = '+1004'
export const FORMULA_PAUSE = '@rest'

let n = 0
const fact = (kind: ReportFact['kind'], at: string, more: Partial<ReportFact> = {}): ReportFact => ({
  id: `test-${kind}-${++n}-${at}`, kind, at, countsAt: more.countsAt ?? at, ...more
})

/** A call that joined at `joined` (UTC ISO), answered after `wait` seconds by `agentId`, or abandoned when agentId is undefined. */
function call (callId: string, joined: string, wait: number, agentId?: string, extra: { talk?: number, topic?: string, wrapup?: string, transfer?: 'completed' | 'failed', landing?: 'answered' | 'abandoned' | 'failed' } = {}): ReportFact[] {
  const at = new Date(Date.parse(joined) + wait * 1000).toISOString()
  const c = { callId, countsAt: joined }
  const out = [fact('joined', joined, { ...c, key: 'pln123' })]
  if (agentId === undefined) return [...out, fact('abandoned', at, { ...c, seconds: wait })]
  const a = { ...c, agentId }
  out.push(fact('answered', at, { ...a, seconds: wait }))
  if (extra.talk !== undefined) out.push(fact('talk', at, { ...a, seconds: extra.talk }))
  if (extra.topic !== undefined) out.push(fact('topic', at, { ...a, key: extra.topic }))
  if (extra.transfer !== undefined) out.push(fact('transfer', at, { ...a, key: extra.transfer }))
  if (extra.landing !== undefined) out.push(fact('landing', at, { ...a, key: extra.landing }))
  if (extra.wrapup !== undefined) out.push(fact('wrapup', at, { ...a, key: extra.wrapup }))
  return out
}

/** The facts; what they add up to is in EXPECTED. */
export function reportFacts (): ReportFact[] {
  return [
    // 1 December, 08:00 WIB (01:00Z)
    ...call('r-c1', '2026-12-01T01:00:00.000Z', 10, '1001', { talk: 120, topic: 'billing', wrapup: 'SELESAI' }),
    ...call('r-c2', '2026-12-01T01:10:00.000Z', 30, '1002', { talk: 200, topic: 'activation', transfer: 'completed', landing: 'answered', wrapup: 'SELESAI' }),
    ...call('r-c3', '2026-12-01T02:00:00.000Z', 45),
    ...call('r-c4', '2026-12-01T03:00:00.000Z', 5, FORMULA_AGENT.id, { talk: 60, topic: 'disruption', transfer: 'failed', wrapup: FORMULA_WRAPUP }),
    fact('acw', '2026-12-01T01:03:00.000Z', { agentId: '1001', callId: 'r-c1', seconds: 60 }),
    fact('pause', '2026-12-01T04:00:00.000Z', { agentId: '1002', key: 'istirahat', seconds: 300 }),
    fact('pause', '2026-12-01T05:00:00.000Z', { agentId: FORMULA_AGENT.id, key: FORMULA_PAUSE, seconds: 90 }),
    // 23:59:59 WIB on the 1st: still the 1st
    ...call('r-c5', '2026-12-01T16:59:59.000Z', 50),
    // 00:00 WIB on the 2nd
    ...call('r-c6', '2026-12-01T17:00:00.000Z', 15, '1001', { talk: 30, topic: 'billing', wrapup: 'SELESAI' }),
    // an agent id from elsewhere (a CTI middleware) a spreadsheet would run
    fact('pause', '2026-12-02T02:00:00.000Z', { agentId: FORMULA_AGENT_ID, key: 'SHOLAT', seconds: 30 }),
    // 23:59:59 WIB on 30 November: before the range
    ...call('r-c0', '2026-11-30T16:59:59.000Z', 3, '1001', { talk: 999, topic: 'coverage' })
  ]
}

/** What the facts add up to over RANGE (serviceLevelSeconds 20). */
export const EXPECTED = {
  day1: {
    interval: '2026-12-01T00:00:00+07:00', offered: 5, answered: 3, abandoned: 2, serviceLevel: 0.4, avgWaitSeconds: 15, byTopic: { billing: 1, activation: 1, disruption: 1 },
    transfers: { completed: 1, failed: 1, answeredAtTarget: 1, abandonedAtTarget: 0 }, acwSeconds: 60, pauseSeconds: { istirahat: 300, [FORMULA_PAUSE]: 90 }, wrapups: { SELESAI: 2, [FORMULA_WRAPUP]: 1 }
  },
  day2: { interval: '2026-12-02T00:00:00+07:00', offered: 1, answered: 1, abandoned: 0, serviceLevel: 1, avgWaitSeconds: 15, byTopic: { billing: 1 }, pauseSeconds: { SHOLAT: 30 }, wrapups: { SELESAI: 1 } },
  agents: {
    1001: { calls: 2, talkSeconds: 150, acwSeconds: 60, transfers: 0, wrapups: { SELESAI: 2 } },
    1002: { calls: 1, talkSeconds: 200, transfers: 1, pauseSeconds: { istirahat: 300 } },
    1003: { calls: 1, talkSeconds: 60, transfers: 0, pauseSeconds: { [FORMULA_PAUSE]: 90 }, wrapups: { [FORMULA_WRAPUP]: 1 } },
    [FORMULA_AGENT_ID]: { calls: 0, pauseSeconds: { SHOLAT: 30 } }
  }
}

export async function seedReportFacts (store: Store): Promise<void> {
  await store.commit(reportFacts().map(f => ({ kind: 'reportFact' as const, fact: f })))
}

/** A week of a small center for the README's screenshot: 1 to 7 November 2026, four agents, made up by a seeded generator (the same every run). */
export const BUSY_WEEK = { from: '2026-11-01', to: '2026-11-07', agents: [{ id: '1005', name: 'Sari Dewi' }, { id: '1006', name: 'Budi Santoso' }] }

export function busyWeekFacts (): ReportFact[] {
  let seed = 16
  const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const agents = ['1001', '1002', ...BUSY_WEEK.agents.map(a => a.id)]
  const topics = ['billing', 'billing', 'billing', 'activation', 'activation', 'disruption', 'disruption', 'coverage']
  const out: ReportFact[] = []
  for (let day = 1; day <= 7; day++) {
    const d = `2026-11-${String(day).padStart(2, '0')}`
    const busy = day === 6 || day === 7 ? 0.6 : 1
    for (let hour = 7; hour <= 21; hour++) {
      // Busiest mid-morning and after lunch.
      const calls = Math.round((4 + 6 * Math.exp(-((hour - 10) ** 2) / 6) + 4 * Math.exp(-((hour - 14) ** 2) / 4)) * busy * (0.7 + rand() * 0.6))
      for (let i = 0; i < calls; i++) {
        const joined = new Date(Date.parse(`${d}T${String(hour).padStart(2, '0')}:00:00+07:00`) + Math.floor(rand() * 3_540_000)).toISOString()
        const wait = Math.round(rand() ** 3 * 75)
        const callId = `week-${d}-${hour}-${i}`
        if (rand() < 0.04 + wait / 900) { out.push(...call(callId, joined, wait)); continue }
        const agentId = pick(agents)
        const topic = pick(topics)
        const transfer = (topic === 'activation' || topic === 'disruption') && rand() < 0.5 ? (rand() < 0.9 ? 'completed' : 'failed') : undefined
        const r = rand()
        const landing = transfer === 'completed' ? (r < 0.7 ? 'answered' : r < 0.9 ? 'abandoned' : 'failed') : undefined
        const wrapup = transfer === 'completed' ? 'TRANSFER_ICONNET' : rand() < 0.8 ? 'SELESAI' : 'TINDAK_LANJUT'
        out.push(...call(callId, joined, wait, agentId, { talk: 60 + Math.round(rand() * 300), topic, wrapup, ...(transfer !== undefined ? { transfer } : {}), ...(landing !== undefined ? { landing } : {}) }))
        out.push(fact('acw', joined, { agentId, callId, seconds: 20 + Math.round(rand() * 40) }))
      }
    }
    for (const agentId of agents) {
      for (const [reason, at, minutes] of [['BRIEFING', '07:30', 20], ['ISTIRAHAT', '12:00', 10 + rand() * 10], ['SHOLAT', '15:10', 8 + rand() * 6], ['TOILET', '17:00', rand() * 6]] as const) {
        out.push(fact('pause', new Date(`${d}T${at}:00+07:00`).toISOString(), { agentId, key: reason, seconds: Math.round(minutes * 60) }))
      }
    }
  }
  return out
}

export async function seedBusyWeek (store: Store): Promise<void> {
  await store.commit(busyWeekFacts().map(f => ({ kind: 'reportFact' as const, fact: f })))
}
