// The agent's shift (CONTRACT.md section 7): login at a phone, logout, pause for a
// reason (the reasons listed for the panels' menu), ready. The agent acts for itself, a supervisor for anyone. Something asked
// for during a call or ACW answers 202 with what will happen when ACW ends.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ShiftService } from '../agents/shift.ts'
import type { AgentView } from '../calls/types.ts'
import { agentViewOr404 } from './agents-routes.ts'
import { assertActsAs } from './auth.ts'
import { AgentIdParam, AgentViewSchema, ErrorBody, NoBody, NoQuery } from './schemas.ts'

export interface ShiftRouteDeps {
  shift: ShiftService
  view: (agentId: string) => AgentView | undefined
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody, 503: ErrorBody }
const auth = { auth: { roles: ['agent' as const, 'supervisor' as const] } }
const QueueName = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })
const NextSchema = Type.Object({ paused: Type.Literal(true), reason: Type.String() })

const ReasonSchema = Type.Object({ code: Type.String(), label: Type.String(), maxMinutes: Type.Integer() })

export const shiftRoutes: FastifyPluginAsyncTypebox<ShiftRouteDeps> = async (app, deps) => {
  const view = (agentId: string): AgentView => agentViewOr404(deps.view, agentId)

  app.get('/v1/pause-reasons', {
    config: auth,
    schema: {
      summary: 'The reasons an agent may pause for (config pauseReasons), each with the minutes past which the pause is flagged',
      tags: ['agents'],
      querystring: NoQuery,
      response: { 200: Type.Object({ reasons: Type.Array(ReasonSchema) }), 401: ErrorBody, 403: ErrorBody }
    }
  }, async () => ({ reasons: deps.shift.reasons.map(r => ({ code: r.code, label: r.label, maxMinutes: r.maxMinutes })) }))

  app.post('/v1/agents/:agentId/login', {
    config: auth,
    schema: {
      summary: 'Log the agent in at a phone: QueueAdd to its queues (default: the configured interface and queues)',
      tags: ['agents'],
      params: AgentIdParam,
      querystring: NoQuery,
      // The interface is checked by interfaceProblem() (one line, a technology the config allows), with its reason.
      body: Type.Union([Type.Object({
        interface: Type.Optional(Type.String({ maxLength: 256, description: 'the member interface of the phone of today, e.g. PJSIP/2001' })),
        queues: Type.Optional(Type.Array(QueueName, { minItems: 1, maxItems: 64, uniqueItems: true, description: 'a subset of the agent\'s queues' }))
      }, { additionalProperties: false }), Type.Null()]),
      response: { 200: AgentViewSchema, ...errors }
    }
  }, async (req) => {
    assertActsAs(req, req.params.agentId)
    const body = req.body ?? {}
    await deps.shift.login(req.params.agentId, { ...(body.interface !== undefined ? { interface: body.interface } : {}), ...(body.queues !== undefined ? { queues: body.queues } : {}) }, actor(req))
    return view(req.params.agentId)
  })

  app.post('/v1/agents/:agentId/logout', {
    config: auth,
    schema: {
      summary: 'Log the agent out: QueueRemove from its queues; 409 ON_CALL during a call; 202 { pending: "logout" } during ACW (done when it ends)',
      tags: ['agents'],
      params: AgentIdParam,
      querystring: NoQuery,
      body: NoBody,
      response: { 200: AgentViewSchema, 202: Type.Object({ pending: Type.Literal('logout'), agent: AgentViewSchema }), ...errors }
    }
  }, async (req, reply) => {
    assertActsAs(req, req.params.agentId)
    const r = await deps.shift.logout(req.params.agentId, actor(req))
    if ('pending' in r) return await reply.code(202).send({ pending: 'logout' as const, agent: view(req.params.agentId) })
    return view(req.params.agentId)
  })

  app.post('/v1/agents/:agentId/pause', {
    config: auth,
    schema: {
      summary: 'Pause the agent for a reason of pauseReasons (QueuePause with it); during a call or ACW: 202, applied when ACW ends',
      tags: ['agents'],
      params: AgentIdParam,
      querystring: NoQuery,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
      response: { 200: AgentViewSchema, 202: Type.Object({ next: NextSchema, agent: AgentViewSchema }), ...errors }
    }
  }, async (req, reply) => {
    assertActsAs(req, req.params.agentId)
    const r = await deps.shift.pause(req.params.agentId, req.body.reason, actor(req))
    if ('next' in r && 'paused' in r.next) return await reply.code(202).send({ next: r.next, agent: view(req.params.agentId) })
    return view(req.params.agentId)
  })

  app.post('/v1/agents/:agentId/ready', {
    config: auth,
    schema: {
      summary: 'Unpause the agent; 409 ACW_RUNNING during fixed ACW; during a call: ready after it (the next status is dropped)',
      tags: ['agents'],
      params: AgentIdParam,
      querystring: NoQuery,
      body: NoBody,
      response: { 200: AgentViewSchema, ...errors }
    }
  }, async (req) => {
    assertActsAs(req, req.params.agentId)
    await deps.shift.ready(req.params.agentId, actor(req))
    return view(req.params.agentId)
  })
}

function actor (req: { principal?: { name: string, role: string } }): { name: string, role: string } {
  return { name: req.principal?.name ?? 'unknown', role: req.principal?.role ?? 'unknown' }
}
