// The reports (CONTRACT.md section 8) for supervisors: the summary per hour or day and
// the agents' figures, as JSON or, with `Accept: text/csv` or `?format=csv`, as a CSV
// download. Thin: src/reports/range.ts reads the dates, the store computes the rows,
// src/reports/csv.ts writes the CSV.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Errors, withDetails } from '../errors.ts'
import { agentsCsv, summaryCsv, type NamedAgentRow } from '../reports/csv.ts'
import { parseInterval, parseRange, type RangeResult } from '../reports/range.ts'
import type { ReportQueries } from '../reports/types.ts'
import { ErrorBody } from './schemas.ts'

export interface ReportRouteDeps {
  reports: ReportQueries
  /** `reports.serviceLevelSeconds`: answered within this counts for the service level. */
  serviceLevelSeconds: number
  /** The agent's name in the directory, for the agents' report. */
  agentName?: (agentId: string) => string | undefined
}

const day = { description: 'a date YYYY-MM-DD, Asia/Jakarta', examples: ['2026-12-01'] }
const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { description: 'csv: the same rows as a CSV download (or send Accept: text/csv)' }))
const SummaryQuery = Type.Object({
  from: Type.Optional(Type.String(day)),
  to: Type.Optional(Type.String({ ...day, description: 'a date YYYY-MM-DD, Asia/Jakarta, inclusive; at most 366 days after from' })),
  interval: Type.Optional(Type.String({ description: 'hour or day (the default)' })),
  format: Format
}, { additionalProperties: false })
const AgentsQuery = Type.Object({
  from: Type.Optional(Type.String(day)),
  to: Type.Optional(Type.String({ ...day, description: 'a date YYYY-MM-DD, Asia/Jakarta, inclusive; at most 366 days after from' })),
  format: Format
}, { additionalProperties: false })

const Counts = Type.Record(Type.String(), Type.Number())
const SummaryRowSchema = Type.Object({
  interval: Type.String({ description: 'the interval\'s start, ISO 8601 with +07:00' }),
  offered: Type.Integer(),
  answered: Type.Integer(),
  abandoned: Type.Integer({ description: 'hung up in the queue' }),
  serviceLevel: Type.Union([Type.Number(), Type.Null()], { description: 'share (0..1) of the offered answered within serviceLevelSeconds; null when none was offered' }),
  avgWaitSeconds: Type.Union([Type.Number(), Type.Null()]),
  byTopic: Counts,
  transfers: Type.Object({ completed: Type.Integer(), failed: Type.Integer(), answeredAtTarget: Type.Integer(), abandonedAtTarget: Type.Integer() }),
  acwSeconds: Type.Number(),
  pauseSeconds: Counts,
  wrapups: Counts,
  apkt: Type.Object({ delivered: Type.Integer(), dead: Type.Integer(), pending: Type.Integer() })
})
const AgentRowSchema = Type.Object({
  agentId: Type.String(),
  name: Type.Optional(Type.String()),
  calls: Type.Integer(),
  talkSeconds: Type.Number(),
  acwSeconds: Type.Number(),
  pauseSeconds: Counts,
  transfers: Type.Integer(),
  wrapups: Counts
})

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 503: ErrorBody }

function valueOf<T> (r: RangeResult<T>): T {
  if (!r.ok) throw withDetails(new Errors.BadRequest(r.message), { field: r.field })
  return r.value
}

/** CSV when asked by ?format=csv, or by Accept: text/csv unless ?format=json says otherwise. */
function wantsCsv (req: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format !== undefined) return format === 'csv'
  const accept = req.headers.accept
  return typeof accept === 'string' && /(^|,)\s*text\/csv\b/i.test(accept)
}

async function sendCsv (reply: FastifyReply, name: string, from: string, to: string, csv: string): Promise<FastifyReply> {
  // The dates passed validation (digits and dashes only): safe inside the quoted filename.
  return await reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="laporan-${name}-${from}-${to}.csv"`)
    .send(csv)
}

export const reportRoutes: FastifyPluginAsyncTypebox<ReportRouteDeps> = async (app, deps) => {
  app.get('/v1/reports/summary', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'One row per hour or day (Asia/Jakarta) from..to inclusive: offered, answered, abandoned, service level, topics, transfers and where they landed, ACW, pauses, wrap-ups, APKT records; CSV with Accept: text/csv or ?format=csv',
      tags: ['supervisor'],
      querystring: SummaryQuery,
      response: {
        200: Type.Object({ from: Type.String(), to: Type.String(), interval: Type.String(), serviceLevelSeconds: Type.Number(), rows: Type.Array(SummaryRowSchema) }),
        ...errors
      }
    }
  }, async (req, reply) => {
    const range = valueOf(parseRange(req.query))
    const interval = valueOf(parseInterval(req.query.interval))
    const rows = await deps.reports.summary({ ...range, interval, serviceLevelSeconds: deps.serviceLevelSeconds })
    const from = req.query.from ?? ''
    const to = req.query.to ?? ''
    if (wantsCsv(req, req.query.format)) return await sendCsv(reply, 'summary', from, to, summaryCsv(rows))
    return { from, to, interval, serviceLevelSeconds: deps.serviceLevelSeconds, rows }
  })

  app.get('/v1/reports/agents', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'Per agent over from..to inclusive (Asia/Jakarta): calls, talk, ACW and pause seconds by reason, transfers, wrap-ups by code; CSV with Accept: text/csv or ?format=csv',
      tags: ['supervisor'],
      querystring: AgentsQuery,
      response: {
        200: Type.Object({ from: Type.String(), to: Type.String(), rows: Type.Array(AgentRowSchema) }),
        ...errors
      }
    }
  }, async (req, reply) => {
    const range = valueOf(parseRange(req.query))
    const rows: NamedAgentRow[] = (await deps.reports.agents(range)).map(r => {
      const name = deps.agentName?.(r.agentId)
      return name !== undefined ? { ...r, name } : r
    })
    const from = req.query.from ?? ''
    const to = req.query.to ?? ''
    if (wantsCsv(req, req.query.format)) return await sendCsv(reply, 'agents', from, to, agentsCsv(rows))
    return { from, to, rows }
  })
}
