// The shape of a policy file under config/policy/. Rules across fields (placeholders,
// transfer targets, calendar dates) are checked in parse.ts, which a schema cannot say.
import Type, { type Static } from 'typebox'
import { TIMEZONES } from './calendar.ts'
import { TOPICS, type Topic } from './types.ts'

const Text = (description?: string) => Type.String({ minLength: 1, ...(description ? { description } : {}) })

const Condition = Type.Object({
  // Type.Enum takes no booleans; the raw enum keeps the problem text "must be one of".
  subscribedViaPlnMobile: Type.Optional(Type.Unsafe<boolean | 'unknown'>({ enum: [true, false, 'unknown'] }))
}, { additionalProperties: false, minProperties: 1 })

// A plain string for the common case keeps the files readable; the object form is
// for the lines that depend on what the customer said.
const GuidanceItem = Type.Union([
  Text(),
  Type.Object({ text: Text(), when: Type.Optional(Condition) }, { additionalProperties: false })
], { mustBe: 'a text, or { text, when }' })

const Apkt = Type.Object({
  jenis: Type.Enum(['KELUHAN', 'GANGGUAN']),
  tipeKeluhan: Text(),
  subTipeKeluhan: Text(),
  permasalahan: Text()
}, { additionalProperties: false })

export const TopicSchema = Type.Object({
  sop: Text('the SOP name of the topic'),
  action: Type.Enum(['educate', 'transfer']),
  script: Text('the Contoh Penyampaian'),
  guidance: Type.Array(GuidanceItem, { minItems: 1 }),
  transferTarget: Type.Optional(Type.Integer({ minimum: 0, maximum: 99, description: 'a Direct Transfer directory index' })),
  wrapupCode: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', mustBe: 'a wrap-up code', description: 'the wrap-up code a call of this topic gets when the agent chose none (one of the config\'s wrapupCodes)' })),
  apkt: Apkt
}, { additionalProperties: false })

export const PolicyFileSchema = Type.Object({
  effectiveFrom: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', mustBe: 'a date YYYY-MM-DD' }),
  timezone: Type.Enum(TIMEZONES),
  source: Type.Optional(Text('the document the policy implements')),
  topics: Type.Object(
    Object.fromEntries(TOPICS.map(topic => [topic, Type.Optional(TopicSchema)])) as Record<Topic, ReturnType<typeof Type.Optional<typeof TopicSchema>>>,
    { additionalProperties: false, minProperties: 1 })
}, { additionalProperties: false })

export type PolicyFile = Static<typeof PolicyFileSchema>
export type TopicEntry = Static<typeof TopicSchema>
