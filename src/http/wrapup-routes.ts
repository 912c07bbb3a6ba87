// POST /v1/calls/:callId/wrapup (CONTRACT.md section 7): the agent's wrap-up code for
// its own call (a supervisor's for any call), from the answer until the agent's ACW for
// the call ends. Answered once the choice is durable.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { CallTracker } from '../calls/tracker.ts'
import { assertStoreReady, durableWithin, type Durability } from '../calls/durable.ts'
import { Errors } from '../errors.ts'
import { wrapupView, type WrapupService } from '../wrapup/service.ts'
import { assertActsAs } from './auth.ts'
import { CallIdParam, ErrorBody, NoQuery, OneLine, WrapupSchema } from './schemas.ts'

export interface WrapupRouteDeps {
  tracker: CallTracker
  wrapups: WrapupService
  durability?: Durability
}

/** Longest note: a line or two for the next person who reads the call, not a report. */
export const NOTE_MAX = 200

const CodeSchema = Type.Object({ code: Type.String(), label: Type.String() })

export const wrapupRoutes: FastifyPluginAsyncTypebox<WrapupRouteDeps> = async (app, deps) => {
  app.get('/v1/wrapup-codes', {
    config: { auth: { roles: ['agent', 'supervisor'] } },
    schema: {
      summary: 'The wrap-up codes an agent may choose (config wrapupCodes), and the default a call gets without one',
      tags: ['calls'],
      querystring: NoQuery,
      response: { 200: Type.Object({ codes: Type.Array(CodeSchema), default: CodeSchema }), 401: ErrorBody, 403: ErrorBody }
    }
  }, async () => { const c = deps.wrapups.codes; return { codes: c.codes.map(x => ({ code: x.code, label: x.label })), default: c.default } })

  app.post('/v1/calls/:callId/wrapup', {
    config: { auth: { roles: ['agent', 'supervisor'] } },
    schema: {
      summary: 'Choose the call\'s wrap-up code (from the answer until the agent\'s ACW for it ends)',
      description: 'A code of the configured wrapupCodes (400 UNKNOWN_WRAPUP_CODE lists them in `allowed`); a later choice replaces the earlier one. ' +
        '409 CALL_NOT_CONNECTED before the answer; 409 WRAPUP_CLOSED once the agent\'s ACW for the call ended (or the call ended without ACW), with the final `wrapup`. ' +
        'A call whose window closes without a choice gets its topic\'s code (policy `wrapupCode`), else wrapupDefault. 503 STORE_UNAVAILABLE when the choice could not be made durable.',
      tags: ['calls'],
      params: CallIdParam,
      querystring: NoQuery,
      body: Type.Object({
        code: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'one of the configured wrapupCodes' }),
        note: Type.Optional(OneLine(NOTE_MAX))
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ wrapup: WrapupSchema }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody }
    }
  }, async (req) => {
    const { callId } = req.params
    // A finished call may be in the store only; bring it back so it can be judged and changed.
    const call = await deps.tracker.recall(callId)
    if (call === undefined) throw new Errors.CallNotFound(`no call ${callId}`)
    if (req.principal?.role === 'agent' && call.agentId === undefined && call.state === 'offered') {
      throw new Errors.CallNotConnected(`call ${callId} is offered: not connected to an agent yet; try again in a moment`)
    }
    assertActsAs(req, call.agentId)
    assertStoreReady(deps.durability, `the wrap-up of call ${callId} was not recorded`)
    const by = { name: req.principal?.name ?? 'unknown', role: req.principal?.role ?? '?' }
    const next = deps.wrapups.choose(callId, req.body, by)
    await durableWithin(deps.tracker.lifecycle.saved(callId), deps.durability, `the wrap-up of call ${callId}`)
    return { wrapup: wrapupView(next.wrapup as NonNullable<typeof next.wrapup>) }
  })
}
