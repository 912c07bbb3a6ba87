// A report request's dates (CONTRACT.md section 8) read into instants: `from` and `to`
// are calendar days in Asia/Jakarta, `to` inclusive, at most 366 days. Pure: the HTTP
// side turns a refusal into a 400 naming the field, the page and tests call it as is.
import type { ReportInterval, ReportRange } from './types.ts'

/** Jakarta is UTC+7 all year (no daylight saving): a day starts at 17:00 UTC the day before. */
export const JAKARTA_OFFSET_MS = 7 * 3600_000
export const MAX_DAYS = 366
const DAY_MS = 86_400_000

export const intervals: readonly ReportInterval[] = ['hour', 'day']

export type RangeResult<T> = { ok: true, value: T } | { ok: false, field: string, message: string }

/** The instant a Jakarta calendar day `YYYY-MM-DD` starts, or undefined for a malformed or impossible date (2026-02-30). */
export function jakartaDayStart (day: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (m === null) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const utc = Date.UTC(y, mo - 1, d)
  // Date.UTC rolls 02-30 over to 03-02; a real date survives the round trip.
  const back = new Date(utc)
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined
  return new Date(utc - JAKARTA_OFFSET_MS)
}

/** `YYYY-MM-DD` of the Jakarta day holding `at`. */
export function jakartaDay (at: Date): string {
  return new Date(at.getTime() + JAKARTA_OFFSET_MS).toISOString().slice(0, 10)
}

/**
 * `from`..`to` (Jakarta days, `to` inclusive) as instants, `to` exclusive (the next day's
 * 00:00 Jakarta). `field` prefixes the names in refusals (`querystring`, as Fastify's own schema refusals name it: `querystring.from`).
 */
export function parseRange (q: { from?: string | undefined, to?: string | undefined }, field = 'querystring'): RangeResult<ReportRange> {
  const day = (name: 'from' | 'to'): RangeResult<Date> => {
    const raw = q[name]
    if (raw === undefined || raw === '') return { ok: false, field: `${field}.${name}`, message: `${field}.${name}: required, a date YYYY-MM-DD (Asia/Jakarta)` }
    const at = jakartaDayStart(raw)
    if (at === undefined) return { ok: false, field: `${field}.${name}`, message: `${field}.${name}: ${JSON.stringify(raw.slice(0, 40))} is not a date YYYY-MM-DD` }
    return { ok: true, value: at }
  }
  const from = day('from')
  if (!from.ok) return from
  const to = day('to')
  if (!to.ok) return to
  if (to.value < from.value) return { ok: false, field: `${field}.from`, message: `${field}.from: ${q.from ?? ''} is after to (${q.to ?? ''})` }
  const end = new Date(to.value.getTime() + DAY_MS)
  const days = Math.round((end.getTime() - from.value.getTime()) / DAY_MS)
  if (days > MAX_DAYS) return { ok: false, field: `${field}.to`, message: `${field}.to: the range holds ${days} days, at most ${MAX_DAYS}` }
  return { ok: true, value: { from: from.value, to: end } }
}

/** `hour` or `day`; absent: `day`. */
export function parseInterval (raw: string | undefined, field = 'querystring'): RangeResult<ReportInterval> {
  if (raw === undefined) return { ok: true, value: 'day' }
  if ((intervals as readonly string[]).includes(raw)) return { ok: true, value: raw as ReportInterval }
  return { ok: false, field: `${field}.interval`, message: `${field}.interval: ${JSON.stringify(raw.slice(0, 40))} is not one of ${intervals.join(', ')}` }
}
