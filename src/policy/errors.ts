// Two failures the callers treat differently: a PolicyError is about one inquiry (the
// HTTP layer answers it), a PolicyFileError is about the policy data (the service
// refuses to start).

export type PolicyErrorCode = 'POLICY_NOT_IN_FORCE' | 'UNKNOWN_TOPIC' | 'MISSING_FACT'

export class PolicyError extends Error {
  readonly code: PolicyErrorCode
  /** the fact that is missing or wrong, for MISSING_FACT (e.g. 'area', 'customer.name') */
  readonly field?: string
  constructor (code: PolicyErrorCode, message: string, field?: string) {
    super(message)
    this.name = 'PolicyError'
    this.code = code
    if (field !== undefined) this.field = field
  }
}

export class PolicyFileError extends Error {
  readonly file: string
  readonly problems: string[]
  constructor (file: string, problems: string[]) {
    super(`invalid policy file ${file}:\n  - ${problems.join('\n  - ')}`)
    this.name = 'PolicyFileError'
    this.file = file
    this.problems = problems
  }
}
