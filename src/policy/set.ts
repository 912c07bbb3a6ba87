// The configured versions in time order, and the choice of the one in force: the
// latest whose start (midnight of effectiveFrom in its zone) is not after the call.
import { decideWith } from './decide.ts'
import { PolicyError, PolicyFileError } from './errors.ts'
import { TOPICS, type Decision, type InquiryFacts, type PolicyVersion, type Topic } from './types.ts'

export interface PolicySet {
  /** every version, oldest first */
  versions: ReadonlyArray<{ effectiveFrom: string, file: string }>
  /** throws PolicyError */
  decide (topic: string, facts: InquiryFacts, at: Date): Decision
  /** the topics of the version in force; none before the first version */
  topics (at: Date): Topic[]
  /** the version in force, if any */
  versionAt (at: Date): PolicyVersion | undefined
}

export function createPolicySet (input: readonly PolicyVersion[]): PolicySet {
  const versions = [...input].sort((a, b) => a.startsAt - b.startsAt)
  const first = versions[0]
  if (first === undefined) throw new RangeError('a policy set needs at least one version')
  // Compared by date, not by instant: one date in two zones would be two versions a
  // few hours apart, which nobody writing the files means.
  const byDate = new Map<string, PolicyVersion>()
  for (const v of [...input].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    const other = byDate.get(v.effectiveFrom)
    if (other !== undefined) throw new PolicyFileError(v.file, [`effectiveFrom: ${v.effectiveFrom} is also the effectiveFrom of ${other.file}; one version per date`])
    byDate.set(v.effectiveFrom, v)
  }

  const versionAt = (at: Date): PolicyVersion | undefined => {
    const t = at.getTime()
    if (Number.isNaN(t)) throw new RangeError('at must be a valid Date')
    return versions.findLast(v => v.startsAt <= t)
  }

  return Object.freeze({
    versions: Object.freeze(versions.map(v => Object.freeze({ effectiveFrom: v.effectiveFrom, file: v.file }))),
    versionAt,
    topics: (at: Date): Topic[] => {
      const v = versionAt(at)
      return v === undefined ? [] : TOPICS.filter(t => v.topics[t] !== undefined)
    },
    decide: (topic: string, facts: InquiryFacts, at: Date): Decision => {
      const v = versionAt(at)
      if (v === undefined) {
        throw new PolicyError('POLICY_NOT_IN_FORCE', `no ICONNET policy is in force at ${at.toISOString()}: the first version takes effect on ${first.effectiveFrom} (${first.timezone}), that is ${new Date(first.startsAt).toISOString()}`)
      }
      return decideWith(v, topic, facts)
    }
  })
}
