// Environment overrides, derived from the schema so that every key has one and the
// README table cannot drift: a scalar at `ami.actionTimeoutMs` is CTI_AMI_ACTION_TIMEOUT_MS;
// a list (agents, directory, auth.tokens) is given whole as JSON, e.g. CTI_AUTH_TOKENS.
// No library maps a nested TypeBox schema to env names with per-type coercion and
// JSON for lists, so this is ours (env-schema/dotenv only handle flat objects).
import type { TSchema } from 'typebox'

export interface EnvKey {
  env: string
  path: string[]
  kind: 'string' | 'integer' | 'number' | 'boolean' | 'json'
  description?: string
}

const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()

type Node = TSchema & { type?: string, properties?: Record<string, Node>, anyOf?: Node[], description?: string }

function kindOf (node: Node): EnvKey['kind'] | 'object' {
  if (node.type === 'object' && node.properties !== undefined) return 'object'
  if (node.type === 'array' || node.type === 'object') return 'json'
  if (node.type === 'integer' || node.type === 'number' || node.type === 'boolean') return node.type
  return 'string' // strings and unions of string literals
}

export function envKeys (schema: TSchema, prefix = 'CTI'): EnvKey[] {
  const out: EnvKey[] = []
  const walk = (node: Node, path: string[]): void => {
    const kind = kindOf(node)
    if (kind === 'object') {
      for (const [k, child] of Object.entries(node.properties ?? {})) walk(child, [...path, k])
      return
    }
    out.push({ env: [prefix, ...path.map(snake)].join('_'), path, kind, ...(node.description ? { description: node.description } : {}) })
  }
  walk(schema as Node, [])
  return out
}

export class EnvError extends Error {}

/** Returns a copy of `raw` with every CTI_* variable of `env` applied, coerced by type. */
export function applyEnv (raw: Record<string, unknown>, schema: TSchema, env: NodeJS.ProcessEnv): { value: Record<string, unknown>, applied: string[], errors: string[] } {
  const value = structuredClone(raw)
  const applied: string[] = []
  const errors: string[] = []
  for (const key of envKeys(schema)) {
    const text = env[key.env]
    if (text === undefined) continue
    let parsed: unknown = text
    if (key.kind === 'integer' || key.kind === 'number') {
      parsed = text.trim() === '' ? Number.NaN : Number(text)
      if (Number.isNaN(parsed)) { errors.push(`${key.env} (${key.path.join('.')}): "${text}" is not a number`); continue }
    } else if (key.kind === 'boolean') {
      if (text !== 'true' && text !== 'false') { errors.push(`${key.env} (${key.path.join('.')}): must be true or false`); continue }
      parsed = text === 'true'
    } else if (key.kind === 'json') {
      try { parsed = JSON.parse(text) } catch (err) { errors.push(`${key.env} (${key.path.join('.')}): not valid JSON: ${(err as Error).message}`); continue }
    }
    let obj = value
    for (const seg of key.path.slice(0, -1)) {
      const next = obj[seg]
      if (typeof next !== 'object' || next === null || Array.isArray(next)) obj[seg] = {}
      obj = obj[seg] as Record<string, unknown>
    }
    obj[key.path[key.path.length - 1] as string] = parsed
    applied.push(key.env)
  }
  return { value, applied, errors }
}
