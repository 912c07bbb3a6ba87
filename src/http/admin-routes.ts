// The admin API (CONTRACT.md section 7): agents created, changed and removed while the
// service runs, and their tokens. Thin: src/agents/admin.ts checks and writes (the CLI
// goes through it too); a change answers once durable, or 503 STORE_UNAVAILABLE.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { AgentAdmin, Actor } from '../agents/admin.ts'
import { AgentIdParam, ErrorBody, NoQuery } from './schemas.ts'

export interface AdminRouteDeps {
  agentAdmin: AgentAdmin
  /** Whether the agent is logged in (the tracker's presence today; the sessions feature's later). */
  loggedIn: (agentId: string) => boolean
}

// Types only here: the content (patterns, one line, known technologies) is checked by
// src/agents/validate.ts, the same code the CLI uses, and answered 400 naming the field.
const AgentBody = Type.Object({
  name: Type.Optional(Type.String({ description: 'shown to people; one line' })),
  queues: Type.Array(Type.String(), { description: 'queue names, as in queues.conf' }),
  unit: Type.String({ description: 'the APKT record\'s unit, e.g. DISTRIBUSI JAKARTA RAYA' }),
  unitPelayanan: Type.String({ description: 'the APKT record\'s unit pelayanan, e.g. UP3 TANJUNG PRIOK' }),
  interface: Type.Optional(Type.String({ description: 'queue member interface, e.g. PJSIP/1001; a technology of agentInterfaces.technologies' }))
}, { additionalProperties: false })

const AdminAgent = Type.Object({
  id: Type.String(),
  name: Type.Optional(Type.String()),
  interface: Type.Optional(Type.String()),
  queues: Type.Array(Type.String()),
  unit: Type.String(),
  unitPelayanan: Type.String(),
  loggedIn: Type.Boolean(),
  inConfig: Type.Boolean({ description: 'listed in the config file: changed and removed there only' })
})

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody }

export const adminRoutes: FastifyPluginAsyncTypebox<AdminRouteDeps> = async (app, deps) => {
  const by = (req: FastifyRequest): Actor => ({ name: req.principal?.name ?? 'unknown', role: req.principal?.role ?? 'admin' })
  const listing = (a: { id: string, name?: string, interface?: string, queues: string[], unit: string, unitPelayanan: string, inConfig: boolean }) => ({
    id: a.id,
    ...(a.name !== undefined ? { name: a.name } : {}),
    ...(a.interface !== undefined ? { interface: a.interface } : {}),
    queues: a.queues,
    unit: a.unit,
    unitPelayanan: a.unitPelayanan,
    loggedIn: deps.loggedIn(a.id),
    inConfig: a.inConfig
  })

  app.get('/v1/admin/agents', {
    config: { auth: { roles: ['admin'] } },
    schema: { summary: 'Every agent (from the config and created at run time)', tags: ['admin'], querystring: NoQuery, response: { 200: Type.Array(AdminAgent), ...errors } }
  }, async () => deps.agentAdmin.list().map(listing))

  app.put('/v1/admin/agents/:agentId', {
    config: { auth: { roles: ['admin'] } },
    schema: {
      summary: 'Create or change an agent (201 created, 200 changed); 409 AGENT_IN_CONFIG for an agent of the config file',
      tags: ['admin'],
      params: AgentIdParam,
      querystring: NoQuery,
      body: AgentBody,
      response: { 200: AdminAgent, 201: AdminAgent, ...errors }
    }
  }, async (req, reply) => {
    const { agent, created } = await deps.agentAdmin.put(req.params.agentId, req.body, by(req))
    return await reply.code(created ? 201 : 200).send(listing({ ...agent, inConfig: false }))
  })

  app.delete('/v1/admin/agents/:agentId', {
    config: { auth: { roles: ['admin'] } },
    schema: {
      summary: 'Remove an agent and revoke its tokens; 409 AGENT_BUSY while logged in, on a call or in ACW',
      tags: ['admin'],
      params: AgentIdParam,
      querystring: NoQuery,
      response: { 204: Type.Null(), ...errors }
    }
  }, async (req, reply) => {
    await deps.agentAdmin.remove(req.params.agentId, by(req))
    return await reply.code(204).send(null)
  })

  app.post('/v1/admin/agents/:agentId/tokens', {
    config: { auth: { roles: ['admin'] } },
    schema: {
      summary: 'Issue a token for the agent, shown once (only its digest is kept); revokeOthers revokes its older ones',
      tags: ['admin'],
      params: AgentIdParam,
      querystring: NoQuery,
      body: Type.Unsafe<{ revokeOthers?: boolean, name?: string } | null>({
        type: 'object',
        nullable: true,
        properties: { revokeOthers: { type: 'boolean' }, name: { type: 'string', description: 'who holds it, for the audit trail' } },
        additionalProperties: false,
        description: 'optional'
      }),
      response: { 201: Type.Object({ token: Type.String(), agentId: Type.String(), name: Type.String(), revokedOthers: Type.Boolean() }), ...errors }
    }
  }, async (req, reply) => {
    const body = req.body ?? {}
    const issued = await deps.agentAdmin.issueToken(req.params.agentId, { ...(body.name !== undefined ? { name: body.name } : {}), ...(body.revokeOthers !== undefined ? { revokeOthers: body.revokeOthers } : {}) }, by(req))
    // The token itself is in this answer only: never logged, audited or stored.
    return await reply.code(201).header('cache-control', 'no-store').send(issued)
  })
}
