// The agent classifies the inquiry and records the customer's consent. The decision
// comes from the policy version in force when the call was offered, not when the
// agent clicked, so a call that straddles a policy change is handled by one version.
import { Errors } from '../errors.ts'
import { PolicyError, type Customer, type Decision, type PolicySet, type Topic } from '../policy/index.ts'
import type { CallTracker } from './tracker.ts'
import type { Call, Consent } from './types.ts'

export interface InquiryInput {
  topic: Topic
  customer: Customer
  area?: string
  subscribedViaPlnMobile?: boolean
}

export class InquiryService {
  constructor (
    private readonly tracker: CallTracker,
    private readonly policy: PolicySet,
    private readonly now: () => Date = () => new Date()
  ) {}

  /** Throws CALL_NOT_FOUND or CALL_NOT_CONNECTED unless the call is live with an agent. */
  connectedCall (callId: string): Call {
    const call = this.tracker.get(callId)
    if (call === undefined) throw new Errors.CallNotFound(`no call ${callId}`)
    if (call.state !== 'connected') {
      throw new Errors.CallNotConnected(`call ${callId} is ${call.state}${call.endReason !== undefined ? ` (${call.endReason})` : ''}, not connected to an agent`)
    }
    return call
  }

  inquire (callId: string, by: string, input: InquiryInput): Decision {
    const call = this.connectedCall(callId)
    let decision: Decision
    try {
      decision = this.policy.decide(input.topic, {
        customer: input.customer,
        ...(input.area !== undefined ? { area: input.area } : {}),
        ...(input.subscribedViaPlnMobile !== undefined ? { subscribedViaPlnMobile: input.subscribedViaPlnMobile } : {})
      }, new Date(call.offeredAt))
    } catch (err) {
      if (err instanceof PolicyError) {
        if (err.code === 'MISSING_FACT') throw Object.assign(new Errors.MissingFact(err.message), { details: { field: err.field ?? 'body' } })
        if (err.code === 'POLICY_NOT_IN_FORCE') throw new Errors.PolicyNotInForce(err.message)
        throw new Errors.BadRequest(err.message)
      }
      throw err
    }
    const at = this.now().toISOString()
    this.tracker.lifecycle.recordInquiry(callId, {
      topic: input.topic,
      customer: input.customer,
      ...(input.area !== undefined ? { area: input.area } : {}),
      ...(input.subscribedViaPlnMobile !== undefined ? { subscribedViaPlnMobile: input.subscribedViaPlnMobile } : {}),
      decision,
      at,
      by
    })
    return decision
  }

  consent (callId: string, by: string, accepted: boolean): Consent {
    const call = this.connectedCall(callId)
    if (call.inquiry === undefined) throw new Errors.InquiryRequired(`call ${callId} has no inquiry yet: classify the topic first`)
    const consent: Consent = { accepted, at: this.now().toISOString(), by }
    this.tracker.lifecycle.recordConsent(callId, consent)
    return consent
  }
}
