// Errors the adapter raises; each has a stable code that the HTTP layer maps.
export type AmiErrorCode =
  | 'AMI_UNAVAILABLE' // not logged in right now: nothing was sent
  | 'AMI_CONNECTION_LOST' // sent, then the connection dropped before the answer: outcome unknown
  | 'AMI_TIMEOUT' // sent, no answer in time: outcome unknown
  | 'AMI_ACTION_FAILED' // Asterisk answered Response: Error

// The adapter's messages for these carry the reason the session is down, which may
// name the AMI user, host and port ("login refused for user ...", "connect
// ECONNREFUSED 10.0.0.9:5038"): clients and stored records get what it means for them,
// the log the reason.
const publicText: Partial<Record<AmiErrorCode, (action: string) => string>> = {
  AMI_UNAVAILABLE: action => `the service is not connected to the PBX (AMI): ${action} was not sent; try again later`,
  AMI_CONNECTION_LOST: action => `the connection to the PBX (AMI) dropped while ${action} was in flight; its outcome is unknown`
}

export class AmiError extends Error {
  readonly code: AmiErrorCode
  readonly action: string
  readonly response: Record<string, string> | undefined
  /** What a client may be told (and what may be kept with a call): no AMI user, host or port. */
  readonly publicMessage: string
  /** `publicMessage`: when the message names nothing private and says more than the code's text. */
  constructor (code: AmiErrorCode, action: string, message: string, response?: Record<string, string>, publicMessage?: string) {
    super(message)
    this.name = 'AmiError'
    this.code = code
    this.action = action
    this.response = response
    this.publicMessage = publicMessage ?? publicText[code]?.(action) ?? message
  }
}
