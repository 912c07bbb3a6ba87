// Errors the adapter raises; each has a stable code that the HTTP layer maps.
export type AmiErrorCode =
  | 'AMI_UNAVAILABLE' // not logged in right now: nothing was sent
  | 'AMI_CONNECTION_LOST' // sent, then the connection dropped before the answer: outcome unknown
  | 'AMI_TIMEOUT' // sent, no answer in time: outcome unknown
  | 'AMI_ACTION_FAILED' // Asterisk answered Response: Error

export class AmiError extends Error {
  readonly code: AmiErrorCode
  readonly action: string
  readonly response: Record<string, string> | undefined
  constructor (code: AmiErrorCode, action: string, message: string, response?: Record<string, string>) {
    super(message)
    this.name = 'AmiError'
    this.code = code
    this.action = action
    this.response = response
  }
}
