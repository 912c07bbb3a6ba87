// Reads the YAML file, applies environment overrides and defaults, and validates the
// result once. Every problem is collected and named by its key, so an operator fixes
// a bad file in one go; nothing else in the service reads the file or the environment.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { compileChecker, schemaProblems } from '../schema-problems.ts'
import { applyEnv } from './env.ts'
import { ConfigSchema, type Config } from './schema.ts'

export class ConfigError extends Error {
  readonly problems: string[]
  constructor (source: string, problems: string[]) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export function configPath (env: NodeJS.ProcessEnv): string {
  return env.CTI_CONFIG ?? 'config/default.yaml'
}

export function loadConfig (file: string, env: NodeJS.ProcessEnv = {}): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(file, [`cannot read ${path.resolve(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`])
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true })
  if (doc.errors.length > 0) throw new ConfigError(file, doc.errors.map(e => `YAML: ${e.message.split('\n')[0]}`))
  const raw: unknown = doc.toJS() ?? {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(file, ['the file must hold a YAML mapping (key: value) at the top'])
  return parseConfig(raw as Record<string, unknown>, env, file)
}

/**
 * `raw` is what the file holds (before the environment): secrets that may come from the
 * environment only are refused there, even when the environment sets them too.
 */
export function parseConfig (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, source = 'config'): Config {
  const fileProblems = envOnlyInFile(raw)
  const { value, errors: envErrors } = applyEnv(raw, ConfigSchema, env)
  const valid = validate(value) // fills defaults in place
  const problems = [...fileProblems, ...envErrors, ...(valid ? [] : schemaProblems(validate.errors ?? []))]
  if (problems.length === 0) problems.push(...crossChecks(value as Config))
  if (problems.length > 0) throw new ConfigError(source, problems)
  return value as Config
}

const validate = compileChecker(ConfigSchema, { useDefaults: true })

// Keys whose value is a credential in itself (the PostgreSQL URL holds the database
// password): a config file is copied, committed and mounted, the environment is not.
const envOnly: Array<{ path: string[], env: string, why: string }> = [
  { path: ['store', 'url'], env: 'CTI_STORE_URL', why: 'it holds the database password' }
]

function envOnlyInFile (raw: Record<string, unknown>): string[] {
  const out: string[] = []
  for (const k of envOnly) {
    let node: unknown = raw
    for (const seg of k.path) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[seg] : undefined
    if (node !== undefined) out.push(`${k.path.join('.')}: not allowed in the config file (${k.why}); remove it and set ${k.env} in the environment`)
  }
  return out
}

function duplicates<T> (items: T[], pick: (t: T) => string): string[] {
  const seen = new Set<string>()
  const dup = new Set<string>()
  for (const i of items) { const k = pick(i); if (seen.has(k)) dup.add(k); seen.add(k) }
  return [...dup]
}

/** Rules a schema cannot say: uniqueness and references between sections. */
function crossChecks (c: Config): string[] {
  const out: string[] = []
  for (const d of duplicates(c.agents, a => a.id)) out.push(`agents: id "${d}" appears more than once`)
  for (const d of duplicates(c.agents, a => a.interface)) out.push(`agents: interface "${d}" appears more than once`)
  for (const d of duplicates(c.directory, e => String(e.index))) out.push(`directory: index ${d} appears more than once`)
  for (const d of duplicates(c.wrapupCodes, w => w.code)) out.push(`wrapupCodes: code "${d}" appears more than once`)
  for (const d of duplicates(c.auth.tokens, t => t.token)) out.push(`auth.tokens: the same token appears more than once (token values are not shown)`)
  const agentIds = new Set(c.agents.map(a => a.id))
  c.auth.tokens.forEach((t, i) => {
    if (t.role === 'agent' && t.agent === undefined) out.push(`auth.tokens[${i}].agent: is required for role agent`)
    if (t.role === 'agent' && t.agent !== undefined && !agentIds.has(t.agent)) out.push(`auth.tokens[${i}].agent: "${t.agent}" is not an id in agents`)
    if (t.role !== 'agent' && t.agent !== undefined) out.push(`auth.tokens[${i}].agent: only agent tokens are bound to an agent`)
  })
  // With no agents in the file, every agent is managed at run time: what ACW settings
  // name cannot be checked against them here.
  if (c.agents.length > 0) {
    for (const id of Object.keys(c.acw.perAgent)) if (!agentIds.has(id)) out.push(`acw.perAgent.${id}: "${id}" is not an id in agents`)
    const queues = new Set(c.agents.flatMap(a => a.queues))
    for (const q of Object.keys(c.acw.perQueue)) if (!queues.has(q)) out.push(`acw.perQueue.${q}: no agent is in queue "${q}"`)
  }
  for (const d of duplicates(c.pauseReasons, r => r.code)) out.push(`pauseReasons: code "${d}" appears more than once`)
  // ACW's own pause must stay recognisable: a break with its reason would be taken for ACW.
  if (c.pauseReasons.some(r => r.code === c.acw.pauseReason)) out.push(`pauseReasons: code "${c.acw.pauseReason}" is acw.pauseReason, ACW's own`)
  if (c.ami.reconnect.initialMs > c.ami.reconnect.maxMs) out.push('ami.reconnect.initialMs: must not exceed ami.reconnect.maxMs')
  // No message here shows the URL: it holds a password.
  if (c.store.kind === 'postgres' && c.store.url === undefined) out.push('store.url: is required when store.kind is postgres (set CTI_STORE_URL)')
  if (c.store.kind === 'sqlite' && c.store.url !== undefined) out.push('store.url: is for store.kind postgres only, and store.kind is sqlite (set CTI_STORE_KIND=postgres, or unset CTI_STORE_URL)')
  if (c.store.url !== undefined && !URL.canParse(c.store.url)) out.push('store.url: is not a valid URL (the value is not shown: it holds a password)')
  // The group shares its lease and its state through PostgreSQL; SQLite is one process's file.
  if (c.ha !== undefined && c.store.kind !== 'postgres') out.push('ha: an HA group needs store.kind postgres (set CTI_STORE_KIND=postgres, or remove ha / the CTI_HA_* variables)')
  if (c.ha !== undefined && !URL.canParse(c.ha.advertiseUrl)) out.push('ha.advertiseUrl: is not a valid URL')
  return out
}
