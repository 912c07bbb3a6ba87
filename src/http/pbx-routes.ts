// Hooks for the PBX: the Direct Transfer directory for CURL() in the dialplan, and CTI
// events from the dialplan or a CTI middleware.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { CallTracker } from '../calls/tracker.ts'
import { assertStoreReady, durableWithin, type Durability } from '../calls/durable.ts'
import { Errors, withDetails } from '../errors.ts'
import type { DirectoryEntry } from '../transfer/service.ts'
import { AgentId, CallId, ChannelName, ErrorBody, NoQuery, OneLine } from './schemas.ts'

export interface PbxRouteDeps {
  /** A CTI event is accepted once its change is durable (src/calls/durable.ts). */
  durability?: Durability
  tracker: CallTracker
  directory: readonly DirectoryEntry[]
  /** Whether an agent exists (now: agents come and go at run time). */
  agentIds: { has: (agentId: string) => boolean }
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody }

export const pbxRoutes: FastifyPluginAsyncTypebox<PbxRouteDeps> = async (app, deps) => {
  app.get('/v1/dialplan/directory/:index', {
    config: { auth: { roles: ['pbx'] } },
    schema: {
      summary: 'A Direct Transfer entry as text/plain "context,exten,1", for CURL() + Goto()',
      tags: ['pbx'],
      params: Type.Object({ index: Type.String({ pattern: '^[0-9]{1,2}$' }) }, { additionalProperties: false }),
      querystring: NoQuery,
      response: { 200: Type.String(), ...errors }
    }
  }, async (req, reply) => {
    const entry = deps.directory.find(d => d.index === Number(req.params.index))
    if (entry === undefined) throw new Errors.TargetNotFound(`no Direct Transfer entry ${req.params.index}`)
    return reply.type('text/plain; charset=utf-8').send(`${entry.context},${entry.exten},1`)
  })

  app.post('/v1/cti/events', {
    config: { auth: { roles: ['pbx'] } },
    schema: {
      summary: 'A CTI event from the dialplan or a CTI middleware',
      tags: ['pbx'],
      querystring: NoQuery,
      body: Type.Object({
        type: Type.Union([Type.Literal('call.offered'), Type.Literal('call.answered'), Type.Literal('call.ended'), Type.Literal('agent.login'), Type.Literal('agent.logout')]),
        callId: Type.Optional(CallId),
        agentId: Type.Optional(AgentId),
        at: Type.Optional(Type.String({ format: 'date-time' })),
        data: Type.Optional(Type.Object({
          callerIdNum: Type.Optional(Type.String({ pattern: '^[0-9+*#A-Za-z-]{0,32}$' })),
          callerIdName: Type.Optional(OneLine(80)),
          customerChannel: Type.Optional(ChannelName),
          agentChannel: Type.Optional(ChannelName),
          queue: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
          reason: Type.Optional(OneLine(120))
        }, { additionalProperties: false }))
      }, { additionalProperties: false }),
      response: { 202: Type.Object({ accepted: Type.Literal(true), call: Type.Optional(Type.Object({ callId: Type.String(), state: Type.String() })) }), ...errors }
    }
  }, async (req, reply) => {
    const ev = req.body
    const needsCall = ev.type.startsWith('call.')
    const needsAgent = ev.type === 'call.answered' || ev.type.startsWith('agent.')
    if (needsCall && ev.callId === undefined) throw withDetails(new Errors.BadRequest(`body.callId: required for ${ev.type}`), { field: 'body.callId' })
    if (needsAgent && ev.agentId === undefined) throw withDetails(new Errors.BadRequest(`body.agentId: required for ${ev.type}`), { field: 'body.agentId' })
    if (ev.agentId !== undefined && !deps.agentIds.has(ev.agentId)) throw new Errors.AgentNotFound(`no agent ${ev.agentId}`)
    if (ev.type === 'call.ended' && await deps.tracker.find(ev.callId as string) === undefined) throw new Errors.CallNotFound(`no call ${ev.callId as string}`)
    // The agent leg becomes the BlindTransfer's Channel: a channel of another device
    // (the customer's own, another agent's) would move the wrong party.
    const leg = ev.data?.agentChannel
    if (leg !== undefined && ev.agentId !== undefined && !deps.tracker.isAgentLeg(ev.agentId, leg)) {
      throw withDetails(new Errors.BadRequest(`data.agentChannel: ${leg} is not a channel of agent ${ev.agentId}'s device`), { field: 'data.agentChannel' })
    }
    if (needsCall) assertStoreReady(deps.durability, `the ${ev.type} event was not recorded`)
    const call = deps.tracker.onCti(ev)
    if (call !== undefined) await durableWithin(deps.tracker.lifecycle.saved(call.callId), deps.durability, `the ${ev.type} event of call ${call.callId}`)
    return reply.code(202).send({ accepted: true as const, ...(call !== undefined ? { call: { callId: call.callId, state: call.state } } : {}) })
  })
}
