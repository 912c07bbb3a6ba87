// ACW controls: the agent's early exit (mode early-exit) and a supervisor's extend or
// end (any mode). Both audited with who and when.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AcwService } from '../acw/service.ts'
import type { AgentView } from '../calls/types.ts'
import { agentViewOr404 } from './agents-routes.ts'
import { assertActsAs } from './auth.ts'
import { AgentIdParam, AgentViewSchema, ErrorBody, NoBody, NoQuery } from './schemas.ts'

export interface AcwRouteDeps {
  acw: AcwService
  view: (agentId: string) => AgentView | undefined
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody }

export const acwRoutes: FastifyPluginAsyncTypebox<AcwRouteDeps> = async (app, deps) => {
  const after = (agentId: string): AgentView => agentViewOr404(deps.view, agentId)

  app.post('/v1/agents/:agentId/acw/complete', {
    config: { auth: { roles: ['agent'] } },
    schema: {
      summary: 'The agent ends its own ACW early (only when acw.mode is early-exit)',
      tags: ['agents'],
      params: AgentIdParam,
      querystring: NoQuery,
      body: NoBody,
      response: { 200: AgentViewSchema, ...errors }
    }
  }, async (req) => {
    assertActsAs(req, req.params.agentId)
    await deps.acw.complete(req.params.agentId, { name: req.principal?.name ?? 'agent', role: 'agent' })
    return after(req.params.agentId)
  })

  app.post('/v1/agents/:agentId/acw', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'A supervisor extends ({ extendSeconds }) or ends ({ end: true }) an agent\'s ACW',
      tags: ['agents'],
      params: AgentIdParam,
      querystring: NoQuery,
      body: Type.Union([
        Type.Object({ extendSeconds: Type.Integer({ minimum: 1, maximum: 3600 }) }, { additionalProperties: false }),
        Type.Object({ end: Type.Literal(true) }, { additionalProperties: false })
      ]),
      response: { 200: AgentViewSchema, ...errors }
    }
  }, async (req) => {
    const by = { name: req.principal?.name ?? 'supervisor', role: 'supervisor' }
    await deps.acw.supervise(req.params.agentId, by, req.body)
    return after(req.params.agentId)
  })
}
