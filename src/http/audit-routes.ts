// The audit trail for supervisors: who did what, when (consent, transfer, ACW, retries).
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AuditLog } from '../audit/log.ts'
import { ErrorBody } from './schemas.ts'

export interface AuditRouteDeps { audit: AuditLog }

export const auditRoutes: FastifyPluginAsyncTypebox<AuditRouteDeps> = async (app, deps) => {
  app.get('/v1/audit', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'The audit trail, newest first; page with ?before=<seq>',
      tags: ['supervisor'],
      querystring: Type.Object({
        before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
        limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' }))
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          entries: Type.Array(Type.Object({
            seq: Type.Integer(), at: Type.String(), actor: Type.String(), role: Type.String(), action: Type.String(), target: Type.String(),
            details: Type.Record(Type.String(), Type.Unknown())
          }))
        }),
        400: ErrorBody, 401: ErrorBody, 403: ErrorBody
      }
    }
  }, async (req) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100)))
    return { entries: await deps.audit.list({ ...(req.query.before !== undefined ? { before: Number(req.query.before) } : {}), limit }) }
  })
}
