// The reports as CSV (CONTRACT.md section 8): the JSON rows, nested objects flattened into
// named columns (`transfers.completed`, `byTopic.billing`, `pauseSeconds.istirahat`), one
// header row. The keyed maps (topics, pause reasons, wrap-up codes) differ from row to
// row, so their columns are the union of keys over all rows, sorted, 0 where a row has none.
import { stringify } from 'csv-stringify/sync'
import type { AgentReportRow, SummaryRow } from './types.ts'

type Cell = string | number | null
interface Column<R> { header: string, value: (row: R) => Cell }

/**
 * A spreadsheet runs a cell starting with = + - @ (or a tab / carriage return that
 * hides one) as a formula. Agent ids, names and codes come from people: such a cell gets
 * a leading apostrophe, which spreadsheets show as text (OWASP's CSV injection advice).
 */
export function safeCell (value: Cell): string | number {
  if (value === null) return ''
  if (typeof value === 'number') return value
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
}

function keysOf<R> (rows: readonly R[], map: (row: R) => Record<string, number>): string[] {
  const keys = new Set<string>()
  for (const r of rows) for (const k of Object.keys(map(r))) keys.add(k)
  return [...keys].sort()
}

function keyed<R> (rows: readonly R[], prefix: string, map: (row: R) => Record<string, number>): Array<Column<R>> {
  return keysOf(rows, map).map(k => ({ header: `${prefix}.${k}`, value: (r: R) => map(r)[k] ?? 0 }))
}

function toCsv<R> (rows: readonly R[], columns: Array<Column<R>>): string {
  return stringify([
    columns.map(c => safeCell(c.header)),
    ...rows.map(r => columns.map(c => safeCell(c.value(r))))
  ], { record_delimiter: 'windows' })
}

export function summaryColumns (rows: readonly SummaryRow[]): Array<Column<SummaryRow>> {
  return [
    { header: 'interval', value: r => r.interval },
    { header: 'offered', value: r => r.offered },
    { header: 'answered', value: r => r.answered },
    { header: 'abandoned', value: r => r.abandoned },
    { header: 'serviceLevel', value: r => r.serviceLevel },
    { header: 'avgWaitSeconds', value: r => r.avgWaitSeconds },
    { header: 'acwSeconds', value: r => r.acwSeconds },
    { header: 'transfers.completed', value: r => r.transfers.completed },
    { header: 'transfers.failed', value: r => r.transfers.failed },
    { header: 'transfers.answeredAtTarget', value: r => r.transfers.answeredAtTarget },
    { header: 'transfers.abandonedAtTarget', value: r => r.transfers.abandonedAtTarget },
    { header: 'apkt.delivered', value: r => r.apkt.delivered },
    { header: 'apkt.dead', value: r => r.apkt.dead },
    { header: 'apkt.pending', value: r => r.apkt.pending },
    ...keyed(rows, 'byTopic', r => r.byTopic),
    ...keyed(rows, 'pauseSeconds', r => r.pauseSeconds),
    ...keyed(rows, 'wrapups', r => r.wrapups)
  ]
}

/** An agent's row with the directory's name for the agent, when it has one. */
export type NamedAgentRow = AgentReportRow & { name?: string }

export function agentColumns (rows: readonly NamedAgentRow[]): Array<Column<NamedAgentRow>> {
  return [
    { header: 'agentId', value: r => r.agentId },
    { header: 'name', value: r => r.name ?? null },
    { header: 'calls', value: r => r.calls },
    { header: 'talkSeconds', value: r => r.talkSeconds },
    { header: 'acwSeconds', value: r => r.acwSeconds },
    { header: 'transfers', value: r => r.transfers },
    ...keyed(rows, 'pauseSeconds', r => r.pauseSeconds),
    ...keyed(rows, 'wrapups', r => r.wrapups)
  ]
}

export const summaryCsv = (rows: readonly SummaryRow[]): string => toCsv(rows, summaryColumns(rows))
export const agentsCsv = (rows: readonly NamedAgentRow[]): string => toCsv(rows, agentColumns(rows))
