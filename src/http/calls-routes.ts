// Calls: read, classify (inquiry), consent, and the Direct Transfer button.
// Agents act only on calls connected to themselves; supervisors may read any call.
import Type, { type Static } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { AuditSink } from '../audit/log.ts'
import type { InquiryService } from '../calls/inquiry.ts'
import type { CallTracker } from '../calls/tracker.ts'
import type { Call } from '../calls/types.ts'
import { assertStoreReady, durableWithin, type Durability } from '../calls/durable.ts'
import { Errors } from '../errors.ts'
import type { TransferService } from '../transfer/service.ts'
import { wrapupView } from '../wrapup/service.ts'
import { assertActsAs } from './auth.ts'
import { ApktSummary, CallIdParam, CallViewSchema, ErrorBody, NoQuery, OneLine, TopicSchema, TransferErrorBody, TransferSchema } from './schemas.ts'

export interface CallRouteDeps {
  audit: AuditSink
  tracker: CallTracker
  inquiries: InquiryService
  transfers: TransferService
  /** Where the call's APKT record stands, if the APKT outbox knows it. */
  apktStatus?: (recordId: string) => string | undefined
  /** Changes are answered for once durable (src/calls/durable.ts). */
  durability?: Durability
}

export function callView (c: Call, apktStatus?: (id: string) => string | undefined): Static<typeof CallViewSchema> {
  const status = c.apkt !== undefined ? apktStatus?.(c.apkt.recordId) : undefined
  return {
    callId: c.callId,
    state: c.state,
    offeredAt: c.offeredAt,
    ...(c.agentId !== undefined ? { agentId: c.agentId } : {}),
    ...(c.inquiry !== undefined ? { topic: c.inquiry.topic, script: c.inquiry.decision.script } : {}),
    ...(c.consent !== undefined ? { consent: { accepted: c.consent.accepted, at: c.consent.at } } : {}),
    ...(c.transfer !== undefined ? { transfer: c.transfer } : {}),
    ...(c.apkt !== undefined ? { apkt: { ...c.apkt, ...(status !== undefined ? { status } : {}) } } : {}),
    ...(c.callerIdNum !== undefined ? { callerIdNum: c.callerIdNum } : {}),
    ...(c.connectedAt !== undefined ? { connectedAt: c.connectedAt } : {}),
    ...(c.endedAt !== undefined ? { endedAt: c.endedAt } : {}),
    ...(c.endReason !== undefined ? { endReason: c.endReason } : {}),
    ...(c.wrapup !== undefined ? { wrapup: wrapupView(c.wrapup) } : {})
  }
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody, 503: ErrorBody }

export const callRoutes: FastifyPluginAsyncTypebox<CallRouteDeps> = async (app, deps) => {
  /** The call, if the caller may act on it: an agent only on a call connected to itself. */
  const ownCall = (req: FastifyRequest, callId: string, found?: Call): Call => {
    const call = found ?? deps.tracker.get(callId)
    if (call === undefined) throw new Errors.CallNotFound(`no call ${callId}`)
    if (req.principal?.role === 'agent' && call.agentId === undefined && call.state === 'offered') {
      // Nobody's call yet. Right after a restart the softphone can know of the answer
      // before the service does (it learns it from the resync): "not connected yet"
      // says retry, where 403 would say never (seen in test/faults/sigkill-random).
      throw new Errors.CallNotConnected(`call ${callId} is offered: not connected to an agent yet; try again in a moment`)
    }
    assertActsAs(req, call.agentId)
    return call
  }
  const by = (req: FastifyRequest): string => req.principal?.name ?? 'unknown'

  app.get('/v1/calls/:callId', {
    config: { auth: { roles: ['agent', 'supervisor'] } },
    schema: { summary: 'A call: state, topic, consent, transfer, APKT record', tags: ['calls'], params: CallIdParam, querystring: NoQuery, response: { 200: CallViewSchema, ...errors } }
  }, async (req) => callView(ownCall(req, req.params.callId, await deps.tracker.find(req.params.callId)), deps.apktStatus))

  app.post('/v1/calls/:callId/inquiry', {
    config: { auth: { roles: ['agent'] } },
    schema: {
      summary: 'Classify the inquiry: the script to read, guidance and the APKT text',
      tags: ['calls'],
      params: CallIdParam,
      querystring: NoQuery,
      body: Type.Object({
        topic: TopicSchema,
        customer: Type.Object({
          name: OneLine(80),
          salutation: Type.Union([Type.Literal('Bapak'), Type.Literal('Ibu')]),
          customerId: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z-]{1,32}$' }))
        }, { additionalProperties: false }),
        area: Type.Optional(OneLine(120)),
        subscribedViaPlnMobile: Type.Optional(Type.Boolean())
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          topic: TopicSchema,
          action: Type.Union([Type.Literal('educate'), Type.Literal('transfer')]),
          script: Type.String(),
          guidance: Type.Array(Type.String()),
          transferTarget: Type.Optional(Type.Integer()),
          policyVersion: Type.String(),
          wrapupCode: Type.Optional(Type.String({ description: 'the wrap-up code the call gets if the agent chooses none (the topic\'s)' })),
          apkt: ApktSummary
        }),
        ...errors
      }
    }
  }, async (req) => {
    const call = ownCall(req, req.params.callId)
    assertStoreReady(deps.durability, `the inquiry of call ${call.callId} was not recorded`)
    const d = deps.inquiries.inquire(call.callId, by(req), req.body)
    await durableWithin(deps.tracker.lifecycle.saved(call.callId), deps.durability, `the inquiry of call ${call.callId}`)
    return {
      topic: d.topic,
      action: d.action,
      script: d.script,
      guidance: d.guidance,
      ...(d.transferTarget !== undefined ? { transferTarget: d.transferTarget } : {}),
      policyVersion: d.policyVersion,
      ...(d.wrapupCode !== undefined ? { wrapupCode: d.wrapupCode } : {}),
      apkt: d.apkt
    }
  })

  app.post('/v1/calls/:callId/consent', {
    config: { auth: { roles: ['agent'] } },
    schema: {
      summary: 'Record whether the customer agreed to be transferred (YA / Baik)',
      tags: ['calls'],
      params: CallIdParam,
      querystring: NoQuery,
      body: Type.Object({ accepted: Type.Boolean() }, { additionalProperties: false }),
      response: { 200: Type.Object({ consent: Type.Object({ accepted: Type.Boolean(), at: Type.String() }) }), ...errors }
    }
  }, async (req) => {
    const call = ownCall(req, req.params.callId)
    assertStoreReady(deps.durability, `the consent of call ${call.callId} was not recorded`)
    const c = deps.inquiries.consent(call.callId, by(req), req.body.accepted)
    deps.audit.record({ actor: by(req), role: req.principal?.role ?? '?', action: 'call.consent', target: call.callId, details: { accepted: c.accepted } })
    await durableWithin(deps.tracker.lifecycle.saved(call.callId), deps.durability, `the consent of call ${call.callId}`)
    return { consent: { accepted: c.accepted, at: c.at } }
  })

  app.post('/v1/calls/:callId/direct-transfer', {
    config: { auth: { roles: ['agent'] } },
    schema: {
      summary: 'The softphone transfer button: blind-transfer the customer to a Direct Transfer entry',
      description: '200 only once Asterisk reports the customer placed at the target. A second press never makes a second transfer. ' +
        '409 TRANSFER_OUTCOME_UNKNOWN when the press (or an earlier one) reached Asterisk and it did not say what became of it (no answer in time, AMI session lost): ' +
        'the call stays transferring and the agent held; no BlindTransfer is sent until the PBX shows where the customer is; `transfer` is the first attempt. ' +
        '409 ALREADY_TRANSFERRED carries the first transfer too. 502 TRANSFER_FAILED: Asterisk refused it, the call is back with the agent.',
      tags: ['calls'],
      params: CallIdParam,
      querystring: NoQuery,
      body: Type.Object({ target: Type.Integer({ minimum: 0, maximum: 99 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ transfer: TransferSchema }), ...errors, 409: TransferErrorBody }
    }
  }, async (req) => {
    const call = ownCall(req, req.params.callId)
    const record = (result: string, details: Record<string, unknown> = {}): void => {
      deps.audit.record({ actor: by(req), role: req.principal?.role ?? '?', action: 'call.direct-transfer', target: call.callId, details: { target: req.body.target, result, ...details } })
    }
    // The transfer's answer is the truth about the PBX (made, refused, made but not
    // recorded): an audit row the store cannot take is logged, never allowed to replace
    // that answer (a 503 "not completed" for a transfer that was made invites a retry).
    const audited = (result: string, details: Record<string, unknown> = {}): void => {
      try { record(result, details) } catch (err) { req.log.error({ err: { message: (err as Error).message }, callId: call.callId, result }, 'audit entry for the transfer not written') }
    }
    try {
      // Written with the landed transfer, in its transaction (one commit, not two).
      let recorded = false
      const transfer = await deps.transfers.directTransfer(call.callId, req.body.target, () => { record('completed'); recorded = true })
      if (!recorded) audited('completed')
      return { transfer }
    } catch (err) {
      audited((err as { code?: string }).code ?? 'error', { message: (err as Error).message })
      throw err
    }
  })
}
