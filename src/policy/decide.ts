// One inquiry against one policy version: which facts it needs, which guidance lines
// apply, and the rendered texts. The version in force is chosen by set.ts.
import { PolicyError } from './errors.ts'
import { FACT_PLACEHOLDERS, TARGET_PLACEHOLDER } from './placeholders.ts'
import { oneLine, render } from './render.ts'
import { TOPICS, isTopic, type ApktFields, type Decision, type GuidanceLine, type InquiryFacts, type PolicyVersion, type RequiredFact, type Topic } from './types.ts'

const WHY: Readonly<Record<RequiredFact, string>> = {
  area: 'the APKT record names the area the customer asked about'
}

export function decideWith (version: PolicyVersion, topic: string, facts: InquiryFacts): Decision {
  const policy = isTopic(topic) ? version.topics[topic] : undefined
  if (policy === undefined) {
    const known = TOPICS.filter(t => version.topics[t] !== undefined)
    throw new PolicyError('UNKNOWN_TOPIC', `unknown topic ${JSON.stringify(topic)}: the policy of ${version.effectiveFrom} knows ${known.join(', ')}`)
  }
  if (typeof facts?.customer !== 'object' || facts.customer === null) {
    throw new PolicyError('MISSING_FACT', 'customer is required: the script addresses the customer by salutation and name', 'customer')
  }
  const vars = varsFor(topic as Topic, policy.requires, facts)
  if (policy.transferTarget !== undefined) vars[TARGET_PLACEHOLDER] = String(policy.transferTarget)
  const fill = (template: string): string => render(template, facts.customer, vars)
  // The APKT form takes upper-case only; names and areas arrive in any case.
  const upper = (template: string): string => fill(template).toUpperCase()
  const apkt: ApktFields = {
    jenis: upper(policy.apkt.jenis),
    tipeKeluhan: upper(policy.apkt.tipeKeluhan),
    subTipeKeluhan: upper(policy.apkt.subTipeKeluhan),
    permasalahan: upper(policy.apkt.permasalahan)
  }
  return {
    topic: topic as Topic,
    action: policy.action,
    script: fill(policy.script),
    guidance: policy.guidance.filter(line => applies(line, facts)).map(line => fill(line.text)),
    apkt,
    ...(policy.transferTarget !== undefined ? { transferTarget: policy.transferTarget } : {}),
    policyVersion: version.effectiveFrom,
    ...(policy.wrapupCode !== undefined ? { wrapupCode: policy.wrapupCode } : {})
  }
}

function varsFor (topic: Topic, requires: readonly RequiredFact[], facts: InquiryFacts): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const [placeholder, fact] of Object.entries(FACT_PLACEHOLDERS)) {
    if (!requires.includes(fact)) continue
    const value = typeof facts[fact] === 'string' ? oneLine(facts[fact]) : ''
    if (value === '') throw new PolicyError('MISSING_FACT', `${fact} is required for topic ${topic}: ${WHY[fact]}`, fact)
    // Upper-case placeholder names carry upper-cased values (APKT style).
    vars[placeholder] = value.toUpperCase()
  }
  return vars
}

function applies (line: GuidanceLine, facts: InquiryFacts): boolean {
  const wanted = line.when?.subscribedViaPlnMobile
  if (wanted === undefined) return true
  // Anything but a boolean is no answer: the agent then gets every path.
  const known = typeof facts.subscribedViaPlnMobile === 'boolean' ? facts.subscribedViaPlnMobile : undefined
  if (wanted === 'unknown') return known === undefined
  return known === undefined || known === wanted
}
