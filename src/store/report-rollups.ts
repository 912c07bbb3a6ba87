// The reports' rollups, engine-neutral: what a fact adds to them, and how the rows the
// engines read back become the rows of CONTRACT.md section 8. Both engines keep:
//
//   report_facts        every fact as it happened (audit, retention); never read by a report
//   report_hourly       the center's counts and seconds per UTC hour ('YYYY-MM-DDTHH'),
//                       per metric and key: a month by hour reads ~744 hours × a few keys
//   report_agent_daily  each agent's per Jakarta day ('YYYY-MM-DD'): the agents' report
//                       asks for whole days, so a month reads 31 days × agents × a few keys
//
// Asia/Jakarta is UTC+7 all year (no daylight saving): a Jakarta hour is a UTC hour, and a
// Jakarta day is the 24 UTC hours from 17:00Z the day before. So the hourly rollup is kept
// by UTC hour and folded into Jakarta hours or days here.
import type { ReportFact } from '../reports/fact.ts'
import type { AgentReportRow, ReportInterval, SummaryRow } from '../reports/types.ts'

const HOUR = 3_600_000
const DAY = 86_400_000
const JAKARTA = 7 * HOUR

/**
 * Waits are kept as a histogram by whole second (metric `wait`), so the service level can be
 * read for any threshold; a wait this long or longer is counted at this key.
 */
export const WAIT_CAP_SECONDS = 3600

/**
 * A wait's histogram key: its whole seconds, zero-padded, so that "answered within S
 * seconds" is a range of the key as text on both engines (no cast).
 */
export const waitKey = (seconds: number): string => String(Math.min(WAIT_CAP_SECONDS, Math.max(0, Math.ceil(seconds)))).padStart(4, '0')

/** The UTC hour an instant falls in, as the hourly rollup's key. */
export const hourKey = (iso: string): string => iso.slice(0, 13)
export const hourKeyOf = (d: Date): string => d.toISOString().slice(0, 13)
/** The Jakarta date an instant falls in, as the agents' rollup's key. */
export const jakartaDay = (ms: number): string => new Date(ms + JAKARTA).toISOString().slice(0, 10)

export interface RollupAdd {
  /** hourly: the UTC hour key; agent: the Jakarta day */
  bucket: string
  /** '' for the center's hourly rollup */
  agentId: string
  metric: string
  key: string
  n: number
  seconds: number
}

/** What one fact adds: center rows (agentId '') and the agent's day rows. */
export function rollupsOf (f: ReportFact): RollupAdd[] {
  const ms = Date.parse(f.countsAt)
  const hour = hourKey(new Date(ms).toISOString())
  const day = jakartaDay(ms)
  const s = f.seconds ?? 0
  const key = f.key ?? ''
  const out: RollupAdd[] = []
  const center = (metric: string, n: number, seconds: number, k = ''): void => { out.push({ bucket: hour, agentId: '', metric, key: k, n, seconds }) }
  const agent = (metric: string, n: number, seconds: number, k = ''): void => {
    if (f.agentId !== undefined) out.push({ bucket: day, agentId: f.agentId, metric, key: k, n, seconds })
  }
  switch (f.kind) {
    case 'joined': center('offered', 1, 0); break
    case 'answered':
      center('answered', 1, s)
      center('wait', 1, 0, waitKey(s))
      agent('calls', 1, 0)
      break
    case 'abandoned': center('abandoned', 1, s); break
    case 'talk': agent('talk', 1, s); break
    case 'topic': center('topic', 1, 0, key); break
    case 'transfer':
      center('transfer', 1, 0, key)
      if (key === 'completed') agent('transfers', 1, 0)
      break
    case 'landing': center('landing', 1, 0, key); break
    case 'acw': center('acw', 1, s); agent('acw', 1, s); break
    case 'pause': center('pause', 1, s, key); agent('pause', 1, s, key); break
    case 'wrapup': center('wrapup', 1, 0, key); agent('wrapup', 1, 0, key); break
  }
  return out
}

/** The adds of many facts, one per row (a commit's facts of one hour touch each row once). */
export function mergeRollups (adds: Iterable<RollupAdd>): RollupAdd[] {
  const by = new Map<string, RollupAdd>()
  for (const a of adds) {
    const k = `${a.bucket}\u0000${a.agentId}\u0000${a.metric}\u0000${a.key}`
    const was = by.get(k)
    if (was === undefined) by.set(k, { ...a })
    else { was.n += a.n; was.seconds += a.seconds }
  }
  return [...by.values()]
}

/** A row of the hourly rollup as read back; metric `within` is the engines' sum of `wait` up to the threshold. */
export interface HourlyRow { bucket: string, metric: string, key: string, n: number | string, seconds: number | string }
export interface ApktHourRow { bucket: string, status: string, n: number | string }
export interface AgentDayRow { agent_id: string, metric: string, key: string, n: number | string, seconds: number | string }

const isoJakarta = (ms: number): string => `${new Date(ms + JAKARTA).toISOString().slice(0, 19)}+07:00`
/** The start (UTC ms) of the Jakarta interval an instant falls in. */
const intervalStart = (ms: number, interval: ReportInterval): number =>
  interval === 'hour' ? Math.floor(ms / HOUR) * HOUR : Math.floor((ms + JAKARTA) / DAY) * DAY - JAKARTA

const round = (x: number, places: number): number => { const f = 10 ** places; return Math.round(x * f) / f }

interface Acc {
  offered: number, answered: number, waitSum: number, within: number, abandoned: number
  byTopic: Record<string, number>
  transfers: SummaryRow['transfers']
  acwSeconds: number
  pauseSeconds: Record<string, number>
  wrapups: Record<string, number>
  apkt: SummaryRow['apkt']
}

const emptyAcc = (): Acc => ({
  offered: 0, answered: 0, waitSum: 0, within: 0, abandoned: 0, byTopic: {},
  transfers: { completed: 0, failed: 0, answeredAtTarget: 0, abandonedAtTarget: 0 },
  acwSeconds: 0, pauseSeconds: {}, wrapups: {}, apkt: { delivered: 0, dead: 0, pending: 0 }
})

const addTo = (o: Record<string, number>, k: string, v: number): void => { o[k] = (o[k] ?? 0) + v }

/**
 * The summary's rows: every interval of [from, to) (empty ones too, so a chart's axis is
 * whole), from the hourly rollup and the outbox's counts by UTC hour.
 */
export function foldSummary (from: Date, to: Date, interval: ReportInterval, hourly: readonly HourlyRow[], apkt: readonly ApktHourRow[]): SummaryRow[] {
  const accs = new Map<number, Acc>()
  for (let t = intervalStart(from.getTime(), interval); t < to.getTime(); t = interval === 'hour' ? t + HOUR : t + DAY) accs.set(t, emptyAcc())
  const accOf = (bucket: string): Acc | undefined => accs.get(intervalStart(Date.parse(`${bucket}:00:00.000Z`), interval))
  for (const r of hourly) {
    const a = accOf(r.bucket)
    if (a === undefined) continue
    const n = Number(r.n)
    const s = Number(r.seconds)
    switch (r.metric) {
      case 'offered': a.offered += n; break
      case 'answered': a.answered += n; a.waitSum += s; break
      case 'within': a.within += n; break
      case 'abandoned': a.abandoned += n; break
      case 'topic': addTo(a.byTopic, r.key, n); break
      case 'transfer': if (r.key === 'completed' || r.key === 'failed') a.transfers[r.key] += n; break
      case 'landing':
        if (r.key === 'answered') a.transfers.answeredAtTarget += n
        else if (r.key === 'abandoned') a.transfers.abandonedAtTarget += n
        break
      case 'acw': a.acwSeconds += s; break
      case 'pause': addTo(a.pauseSeconds, r.key, s); break
      case 'wrapup': addTo(a.wrapups, r.key, n); break
    }
  }
  for (const r of apkt) {
    const a = accOf(r.bucket)
    if (a !== undefined && (r.status === 'delivered' || r.status === 'dead' || r.status === 'pending')) a.apkt[r.status] += Number(r.n)
  }
  return [...accs.entries()].map(([t, a]) => ({
    interval: isoJakarta(t),
    offered: a.offered,
    answered: a.answered,
    abandoned: a.abandoned,
    serviceLevel: a.offered === 0 ? null : round(a.within / a.offered, 4),
    avgWaitSeconds: a.answered === 0 ? null : round(a.waitSum / a.answered, 1),
    byTopic: a.byTopic,
    transfers: a.transfers,
    acwSeconds: round(a.acwSeconds, 1),
    pauseSeconds: roundAll(a.pauseSeconds),
    wrapups: a.wrapups,
    apkt: a.apkt
  }))
}

const roundAll = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v, 1)]))

/** The agents' rows, by agent id, from their day rollup summed over the range. */
export function foldAgents (rows: readonly AgentDayRow[]): AgentReportRow[] {
  const by = new Map<string, AgentReportRow>()
  for (const r of rows) {
    let a = by.get(r.agent_id)
    if (a === undefined) { a = { agentId: r.agent_id, calls: 0, talkSeconds: 0, acwSeconds: 0, pauseSeconds: {}, transfers: 0, wrapups: {} }; by.set(r.agent_id, a) }
    const n = Number(r.n)
    const s = Number(r.seconds)
    switch (r.metric) {
      case 'calls': a.calls += n; break
      case 'talk': a.talkSeconds += s; break
      case 'acw': a.acwSeconds += s; break
      case 'pause': addTo(a.pauseSeconds, r.key, s); break
      case 'transfers': a.transfers += n; break
      case 'wrapup': addTo(a.wrapups, r.key, n); break
    }
  }
  return [...by.values()]
    .map(a => ({ ...a, talkSeconds: round(a.talkSeconds, 1), acwSeconds: round(a.acwSeconds, 1), pauseSeconds: roundAll(a.pauseSeconds) }))
    .sort((x, y) => x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0)
}

/** The agents' rollup's day range for a report range (its instants are Jakarta midnights). */
export const dayRange = (from: Date, to: Date): { fromDay: string, toDay: string } => ({ fromDay: jakartaDay(from.getTime()), toDay: jakartaDay(to.getTime()) })
