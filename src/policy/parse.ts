// One policy file, from YAML text to a checked, frozen PolicyVersion. Every mistake
// in the file is collected and named by key before anything is refused.
import YAML from 'yaml'
import { isCalendarDate, midnightIn } from './calendar.ts'
import { PolicyFileError } from './errors.ts'
import { FACT_PLACEHOLDERS, KNOWN_PLACEHOLDERS, TARGET_PLACEHOLDER } from './placeholders.ts'
import { placeholdersIn } from './render.ts'
import { compileChecker, schemaProblems } from '../schema-problems.ts'
import { PolicyFileSchema, type PolicyFile, type TopicEntry } from './schema.ts'
import { TOPICS, type ApktFields, type GuidanceLine, type PolicyContext, type PolicyVersion, type RequiredFact, type Topic, type TopicPolicy } from './types.ts'

const validate = compileChecker(PolicyFileSchema)

const APKT_KEYS = ['jenis', 'tipeKeluhan', 'subTipeKeluhan', 'permasalahan'] as const

export function parsePolicy (text: string, file: string, context: PolicyContext = {}): PolicyVersion {
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true })
  if (doc.errors.length > 0) throw new PolicyFileError(file, doc.errors.map(e => yamlProblem(e, text)))
  const raw: unknown = doc.toJS()
  if (!isRecord(raw)) throw new PolicyFileError(file, ['the file must hold a YAML mapping (key: value) at the top'])
  const problems = validate(raw) ? [] : schemaProblems(validate.errors ?? [])
  // Checked even when the schema failed elsewhere, so one pass shows every mistake.
  problems.push(...crossChecks(raw, context))
  if (problems.length > 0) throw new PolicyFileError(file, problems)
  return toVersion(raw as PolicyFile, file)
}

// The first line of a YAML error names the line; the line itself tells the reader
// which key it is about without opening the file.
function yamlProblem (e: YAML.YAMLError, text: string): string {
  const first = (e.message.split('\n')[0] ?? '').replace(/:$/, '')
  const line = e.linePos?.[0].line
  const source = line === undefined ? undefined : text.split(/\r?\n/)[line - 1]?.trim()
  return `YAML: ${first}${source ? ` (${source.length > 60 ? `${source.slice(0, 57)}...` : source})` : ''}`
}

function crossChecks (raw: Record<string, unknown>, context: PolicyContext): string[] {
  const out: string[] = []
  const { effectiveFrom } = raw
  if (typeof effectiveFrom === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(effectiveFrom) && !isCalendarDate(effectiveFrom)) {
    out.push(`effectiveFrom: ${effectiveFrom} is not a calendar date`)
  }
  const topics = isRecord(raw.topics) ? raw.topics : {}
  for (const topic of TOPICS) {
    const entry = topics[topic]
    if (isRecord(entry)) out.push(...topicChecks(`topics.${topic}`, entry), ...wrapupCheck(`topics.${topic}`, entry, context))
  }
  return out
}

function topicChecks (at: string, entry: Record<string, unknown>): string[] {
  const out: string[] = []
  const hasTarget = entry.transferTarget !== undefined
  if (entry.action === 'transfer' && !hasTarget) out.push(`${at}.transferTarget: is required when action is transfer (the Direct Transfer entry to press)`)
  if (entry.action === 'educate' && hasTarget) out.push(`${at}.transferTarget: only a transfer topic has a transfer target (action is educate)`)
  for (const [key, text, isApkt] of templatesOf(at, entry)) {
    const { names, stray } = placeholdersIn(text)
    for (const name of names) {
      if (!KNOWN_PLACEHOLDERS.includes(name)) out.push(`${key}: unknown placeholder {${name}} (known: ${KNOWN_PLACEHOLDERS.map(n => `{${n}}`).join(', ')})`)
      else if (name === TARGET_PLACEHOLDER && !hasTarget) out.push(`${key}: {${name}} needs ${at}.transferTarget`)
    }
    if (stray) out.push(`${key}: has a { or } that is not part of a placeholder`)
    const literal = text.replace(/\{[^{}]*\}/g, '')
    if (isApkt && literal !== literal.toUpperCase()) out.push(`${key}: must be upper-case (APKT text fields are upper-case)`)
  }
  return out
}

/** A topic's wrap-up code must be one the agents can see and reports know: a configured one. */
function wrapupCheck (at: string, entry: Record<string, unknown>, context: PolicyContext): string[] {
  const code = entry.wrapupCode
  const known = context.wrapupCodes
  if (typeof code !== 'string' || known === undefined || known.includes(code)) return []
  return [`${at}.wrapupCode: "${code}" is not one of the configured wrapupCodes (${known.join(', ')}); add it to wrapupCodes or name one of those`]
}

/** Every template of a topic entry that is a string, with its key and whether it is an APKT field. */
function templatesOf (at: string, entry: Record<string, unknown>): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = []
  if (typeof entry.script === 'string') out.push([`${at}.script`, entry.script, false])
  if (Array.isArray(entry.guidance)) {
    entry.guidance.forEach((item: unknown, i) => {
      const text = typeof item === 'string' ? item : (isRecord(item) && typeof item.text === 'string' ? item.text : undefined)
      if (text !== undefined) out.push([`${at}.guidance[${i}]${typeof item === 'string' ? '' : '.text'}`, text, false])
    })
  }
  if (isRecord(entry.apkt)) {
    for (const k of APKT_KEYS) {
      const v = entry.apkt[k]
      if (typeof v === 'string') out.push([`${at}.apkt.${k}`, v, true])
    }
  }
  return out
}

function toVersion (file: PolicyFile, path: string): PolicyVersion {
  const startsAt = midnightIn(file.effectiveFrom, file.timezone)
  if (startsAt === undefined) throw new PolicyFileError(path, [`effectiveFrom: ${file.effectiveFrom} is not a calendar date`])
  const topics: Partial<Record<Topic, TopicPolicy>> = {}
  for (const topic of TOPICS) {
    const entry = file.topics[topic]
    if (entry !== undefined) topics[topic] = toTopic(entry)
  }
  return deepFreeze({
    file: path,
    effectiveFrom: file.effectiveFrom,
    timezone: file.timezone,
    startsAt,
    ...(file.source !== undefined ? { source: file.source } : {}),
    topics
  })
}

function toTopic (entry: TopicEntry): TopicPolicy {
  const guidance: GuidanceLine[] = entry.guidance.map(g => typeof g === 'string' ? { text: g } : g)
  const apkt: ApktFields = { ...entry.apkt }
  const used = [entry.script, ...guidance.map(g => g.text), ...Object.values(apkt)].flatMap(t => placeholdersIn(t).names)
  const requires = [...new Set(used.flatMap(n => FACT_PLACEHOLDERS[n] ?? []))] as RequiredFact[]
  return {
    sop: entry.sop,
    action: entry.action,
    script: entry.script,
    guidance,
    ...(entry.transferTarget !== undefined ? { transferTarget: entry.transferTarget } : {}),
    ...(entry.wrapupCode !== undefined ? { wrapupCode: entry.wrapupCode } : {}),
    apkt,
    requires
  }
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
