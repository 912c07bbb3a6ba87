// The ICONNET routing policy (CONTRACT.md section 1): pure decisions over versioned
// policy data. No framework, logger or PBX client may be imported under src/policy.
export { TOPICS, isTopic } from './types.ts'
export type { Topic, Salutation, Customer, InquiryFacts, ApktFields, Decision, Action, PolicyVersion, TopicPolicy, GuidanceLine, GuidanceCondition, RequiredFact, PolicyContext } from './types.ts'
export { PolicyError, PolicyFileError, type PolicyErrorCode } from './errors.ts'
export type { PolicySet } from './set.ts'
export { createPolicySet } from './set.ts'
export { loadPolicies } from './load.ts'
export { parsePolicy } from './parse.ts'
export { render } from './render.ts'
export { TIMEZONES } from './calendar.ts'
