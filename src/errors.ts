// One catalogue of the API's coded errors (CONTRACT.md section 4), each with its HTTP
// status. Routes throw these; the error handler in http/errors.ts renders them as
// { error: CODE, message } plus any `details` the error carries. Domain modules use
// it too (it depends on @fastify/error only, not on Fastify).
import createError from '@fastify/error'

/** Attaches extra response fields, e.g. the first transfer's result to ALREADY_TRANSFERRED. */
export function withDetails<E extends Error> (err: E, details: Record<string, unknown>): E {
  return Object.assign(err, { details })
}

export const Errors = {
  BadRequest: createError<[string]>('BAD_REQUEST', '%s', 400),
  Unauthorized: createError<[string]>('UNAUTHORIZED', '%s', 401),
  Forbidden: createError<[string]>('FORBIDDEN', '%s', 403),
  NotFound: createError<[string]>('NOT_FOUND', '%s', 404),
  NotReady: createError<[string]>('NOT_READY', '%s', 503),
  RateLimited: createError<[string]>('RATE_LIMITED', '%s', 429),
  TooManyStreams: createError<[string]>('TOO_MANY_STREAMS', '%s', 429),
  Overloaded: createError<[string]>('OVERLOADED', '%s', 503),
  AmiUnavailable: createError<[string]>('AMI_UNAVAILABLE', '%s', 503),
  StoreUnavailable: createError<[string]>('STORE_UNAVAILABLE', '%s', 503),
  AgentNotFound: createError<[string]>('AGENT_NOT_FOUND', '%s', 404),
  CallNotFound: createError<[string]>('CALL_NOT_FOUND', '%s', 404),
  TargetNotFound: createError<[string]>('TARGET_NOT_FOUND', '%s', 404),
  CallNotConnected: createError<[string]>('CALL_NOT_CONNECTED', '%s', 409),
  InquiryRequired: createError<[string]>('INQUIRY_REQUIRED', '%s', 409),
  ConsentRequired: createError<[string]>('CONSENT_REQUIRED', '%s', 409),
  NotTransferable: createError<[string]>('NOT_TRANSFERABLE', '%s', 409),
  AlreadyTransferred: createError<[string]>('ALREADY_TRANSFERRED', '%s', 409),
  TransferFailed: createError<[string]>('TRANSFER_FAILED', '%s', 502),
  /** A press reached Asterisk and it did not say what became of it (no answer in time, session lost): not a failure, no second BlindTransfer until the PBX shows where the customer is; details.transfer is the first attempt. */
  TransferOutcomeUnknown: createError<[string]>('TRANSFER_OUTCOME_UNKNOWN', '%s', 409),
  AgentLegUnknown: createError<[string]>('AGENT_LEG_UNKNOWN', '%s', 409),
  MissingFact: createError<[string]>('MISSING_FACT', '%s', 400),
  PolicyNotInForce: createError<[string]>('POLICY_NOT_IN_FORCE', '%s', 409),
  AcwFixed: createError<[string]>('ACW_FIXED', '%s', 409),
  NotInAcw: createError<[string]>('NOT_IN_ACW', '%s', 409),
  /** details.allowed: the configured wrap-up codes */
  UnknownWrapupCode: createError<[string]>('UNKNOWN_WRAPUP_CODE', '%s', 400),
  /** The call's wrap-up window closed (its ACW ended, or the call ended without ACW): details.wrapup is the final one. */
  WrapupClosed: createError<[string]>('WRAPUP_CLOSED', '%s', 409),
  /** CONTRACT.md section 7: an agent listed in the config file is changed or removed there, not through the API. */
  AgentInConfig: createError<[string]>('AGENT_IN_CONFIG', '%s', 409),
  /** CONTRACT.md section 7: an agent logged in, on a call or in ACW cannot be removed. */
  AgentBusy: createError<[string]>('AGENT_BUSY', '%s', 409),
  InterfaceInUse: createError<[string]>('INTERFACE_IN_USE', '%s', 409),
  AlreadyLoggedIn: createError<[string]>('ALREADY_LOGGED_IN', '%s', 409),
  NotLoggedIn: createError<[string]>('NOT_LOGGED_IN', '%s', 409),
  OnCall: createError<[string]>('ON_CALL', '%s', 409),
  AcwRunning: createError<[string]>('ACW_RUNNING', '%s', 409),
  ApktRecordNotFound: createError<[string]>('APKT_RECORD_NOT_FOUND', '%s', 404),
  ApktNotDead: createError<[string]>('APKT_NOT_DEAD', '%s', 409)
} as const
