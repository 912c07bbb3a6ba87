// Agents: state for supervisors (an agent may read itself) and the agent's current call.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AgentView } from '../calls/types.ts'
import type { CallTracker } from '../calls/tracker.ts'
import { Errors } from '../errors.ts'
import { assertActsAs } from './auth.ts'
import { callView } from './calls-routes.ts'
import { AgentIdParam, AgentViewSchema, CallViewSchema, ErrorBody, NoQuery } from './schemas.ts'

export interface AgentRouteDeps {
  tracker: CallTracker
  view: (agentId: string) => AgentView | undefined
  apktStatus?: (recordId: string) => string | undefined
}

const errors = { 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

/** The agent's view, or 404 for an id that is not a configured agent. */
export function agentViewOr404 (view: (agentId: string) => AgentView | undefined, agentId: string): AgentView {
  const v = view(agentId)
  if (v === undefined) throw new Errors.AgentNotFound(`no agent ${agentId}`)
  return v
}

export const agentRoutes: FastifyPluginAsyncTypebox<AgentRouteDeps> = async (app, deps) => {
  const one = (agentId: string): AgentView => agentViewOr404(deps.view, agentId)

  app.get('/v1/agents', {
    config: { auth: { roles: ['supervisor', 'agent'] } },
    schema: { summary: 'Every agent\'s state (an agent token sees only itself)', tags: ['agents'], querystring: NoQuery, response: { 200: Type.Array(AgentViewSchema), ...errors } }
  }, async (req) => {
    const ids = req.principal?.role === 'agent' ? [req.principal.agentId ?? ''] : deps.tracker.agentIds()
    return ids.map(id => one(id))
  })

  app.get('/v1/agents/:agentId', {
    config: { auth: { roles: ['supervisor', 'agent'] } },
    schema: { summary: 'One agent\'s state', tags: ['agents'], params: AgentIdParam, querystring: NoQuery, response: { 200: AgentViewSchema, ...errors } }
  }, async (req) => {
    assertActsAs(req, req.params.agentId)
    return one(req.params.agentId)
  })

  app.get('/v1/agents/:agentId/call', {
    config: { auth: { roles: ['supervisor', 'agent'] } },
    schema: { summary: 'The agent\'s current call; 404 when none', tags: ['agents'], params: AgentIdParam, querystring: NoQuery, response: { 200: CallViewSchema, ...errors } }
  }, async (req) => {
    assertActsAs(req, req.params.agentId)
    one(req.params.agentId)
    const call = deps.tracker.currentCallOf(req.params.agentId)
    if (call === undefined) throw new Errors.CallNotFound(`agent ${req.params.agentId} has no call now`)
    return callView(call, deps.apktStatus)
  })
}
