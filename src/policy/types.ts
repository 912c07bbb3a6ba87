// The policy's vocabulary: what the agent reports about an inquiry, and what the
// service answers. Shared by every other module of src/policy, free of any framework.

export const TOPICS = ['coverage', 'billing', 'activation', 'disruption'] as const
export type Topic = typeof TOPICS[number]

export const isTopic = (value: string): value is Topic => (TOPICS as readonly string[]).includes(value)

/** The topics the SOP sends to CC ICONNET (Aktivasi & Gangguan); the others are educated. */
export const TRANSFER_TOPICS: ReadonlySet<Topic> = new Set<Topic>(['activation', 'disruption'])

export type Salutation = 'Bapak' | 'Ibu'

export interface Customer { name: string, salutation: Salutation, customerId?: string }

export interface InquiryFacts { customer: Customer, area?: string, subscribedViaPlnMobile?: boolean }

export interface ApktFields { jenis: string, tipeKeluhan: string, subTipeKeluhan: string, permasalahan: string }

export type Action = 'educate' | 'transfer'

export interface Decision {
  topic: Topic
  action: Action
  /** the rendered "Contoh Penyampaian" */
  script: string
  /** what the agent does or says beyond the script */
  guidance: string[]
  apkt: ApktFields
  /** the Direct Transfer directory entry, for transfer topics only */
  transferTarget?: number
  /** effectiveFrom (YYYY-MM-DD) of the version that decided */
  policyVersion: string
  /** the wrap-up code a call of this topic gets when the agent chose none */
  wrapupCode?: string
}

/**
 * A guidance line tied to an answer of the customer. A line for one answer is also
 * shown while the answer is not known, so the agent has every path at hand; a line
 * for 'unknown' is shown only then (e.g. "ask the customer first").
 */
export interface GuidanceCondition { subscribedViaPlnMobile?: boolean | 'unknown' }

export interface GuidanceLine { text: string, when?: GuidanceCondition }

/** Facts a topic cannot be decided without, found from the placeholders it uses. */
export type RequiredFact = 'area'

export interface TopicPolicy {
  sop: string
  action: Action
  script: string
  guidance: readonly GuidanceLine[]
  transferTarget?: number
  wrapupCode?: string
  apkt: Readonly<ApktFields>
  requires: readonly RequiredFact[]
}

/** What a policy file is checked against beyond itself (the service's config). */
export interface PolicyContext {
  /** the configured wrap-up codes a topic's wrapupCode must be one of (unchecked when absent) */
  wrapupCodes?: readonly string[]
}

export interface PolicyVersion {
  file: string
  effectiveFrom: string
  timezone: string
  /** effectiveFrom at midnight in timezone, epoch milliseconds */
  startsAt: number
  source?: string
  topics: Readonly<Partial<Record<Topic, Readonly<TopicPolicy>>>>
}
