// The APKT outbox for supervisors (CONTRACT.md section 4): what is pending, delivered
// or dead, and re-queueing a dead record once its cause is fixed.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { OutboxError } from '../apkt/errors.ts'
import type { Outbox } from '../apkt/outbox.ts'
import type { AuditSink } from '../audit/log.ts'
import { Errors } from '../errors.ts'
import { NoBody, NoQuery } from './schemas.ts'

export interface ApktRouteDeps {
  outbox: Pick<Outbox, 'list' | 'retry' | 'stats'>
  /** Told after a retry so the record goes out now rather than at the next poll. */
  dispatcher?: { kick: () => void }
  /** Who re-queued what, for GET /v1/audit. */
  audit?: AuditSink
}

const Text = Type.String()
const NullableText = Type.Union([Type.String(), Type.Null()])
const Status = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('dead')])

/** The record exactly as posted to APKT (CONTRACT.md section 5). */
const ApktRecordSchema = Type.Object({
  id: Text,
  jenis: Text,
  tipeKeluhan: Text,
  subTipeKeluhan: Text,
  unit: Text,
  unitPelayanan: Text,
  lokasi: NullableText,
  permasalahan: Text,
  callId: Text,
  agentId: Text,
  customer: Type.Object({ name: Text, customerId: NullableText }, { additionalProperties: false }),
  topic: Text,
  createdAt: Text
}, { additionalProperties: false })

const OutboxEntrySchema = Type.Object({
  id: Text,
  outcomeKey: Text,
  agentId: Text,
  callId: Text,
  status: Status,
  attempts: Type.Integer(),
  lastError: NullableText,
  nextAttemptAt: NullableText,
  createdAt: Text,
  deliveredAt: NullableText,
  record: ApktRecordSchema
}, { additionalProperties: false })

const ErrorBody = Type.Object({ error: Text, message: Text }, { additionalProperties: false })

export const apktRoutes: FastifyPluginAsyncTypebox<ApktRouteDeps> = async (app, deps) => {
  app.get('/v1/apkt/records', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'The APKT outbox, newest first, with counts by status',
      tags: ['supervisor'],
      querystring: Type.Object({
        status: Type.Optional(Status),
        // A digit string: query values are text and the app does not coerce types.
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: 'at most this many records (1-1000, default 100)' }))
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          records: Type.Array(OutboxEntrySchema),
          stats: Type.Object({
            pending: Type.Integer(),
            delivered: Type.Integer(),
            dead: Type.Integer(),
            oldestPendingAgeMs: Type.Union([Type.Integer(), Type.Null()])
          }, { additionalProperties: false })
        }, { additionalProperties: false })
      }
    }
  }, async (req) => {
    const limit = Math.min(Number(req.query.limit ?? 100), 1000)
    return {
      records: await deps.outbox.list({ ...(req.query.status !== undefined ? { status: req.query.status } : {}), limit }),
      stats: await deps.outbox.stats()
    }
  })

  app.post('/v1/apkt/records/:id/retry', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'Re-queue a dead APKT record: pending again, due now, attempts kept',
      tags: ['supervisor'],
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
      querystring: NoQuery,
      body: NoBody,
      response: { 200: Type.Object({ record: OutboxEntrySchema }, { additionalProperties: false }), 404: ErrorBody, 409: ErrorBody }
    }
  }, async (req) => {
    let record
    try {
      record = await deps.outbox.retry(req.params.id)
    } catch (err) {
      if (err instanceof OutboxError && err.code === 'RECORD_NOT_FOUND') throw new Errors.ApktRecordNotFound(err.message)
      if (err instanceof OutboxError && err.code === 'RECORD_NOT_DEAD') throw new Errors.ApktNotDead(err.message)
      throw err
    }
    req.log.info({ id: record.id, callId: record.callId, by: req.principal?.name }, 'APKT record re-queued by a supervisor')
    deps.audit?.record({ actor: req.principal?.name ?? 'unknown', role: req.principal?.role ?? '?', action: 'apkt.retry', target: record.id, details: { callId: record.callId, attempts: record.attempts, lastError: record.lastError } })
    deps.dispatcher?.kick()
    return { record }
  })
}
