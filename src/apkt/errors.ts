// The outbox's own errors, with a code, so the HTTP routes and the CLI can each say
// them their way (404/409, or a message and an exit code) without this folder
// knowing about either.
export type OutboxErrorCode = 'RECORD_NOT_FOUND' | 'RECORD_NOT_DEAD'

export class OutboxError extends Error {
  override readonly name = 'OutboxError'
  constructor (readonly code: OutboxErrorCode, message: string) {
    super(message)
  }
}
