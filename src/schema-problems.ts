// Turns Ajv's errors into one line per key ("topics.billing.script: is required"), so
// whoever edits the config or a policy file sees every mistake by name in one go.
// Shared by both loaders: one wording for the same kind of mistake, and one way to
// build their validators, so the texts never depend on how a caller set Ajv up.
import { Ajv, type ErrorObject } from 'ajv'
import type { TSchema } from 'typebox'

/**
 * A validator for schemaProblems(): every error (allErrors; TypeBox's own checker stops
 * inside an object at its first failing keyword) and each with its schema (verbose),
 * which the texts draw on: the keys allowed beside an unknown one, and `mustBe`.
 */
export function compileChecker (schema: TSchema, opts: { useDefaults?: boolean } = {}): ReturnType<Ajv['compile']> {
  return new Ajv({ allErrors: true, strict: false, verbose: true, useDefaults: opts.useDefaults ?? false }).compile(schema)
}

const keyName = (pointer: string): string =>
  pointer.split('/').filter(Boolean).map((seg, i) => /^\d+$/.test(seg) ? `[${seg}]` : (i === 0 ? seg : `.${seg}`)).join('') || '(top level)'

export function schemaProblems (errors: readonly ErrorObject[]): string[] {
  const byKey = new Map<string, string[]>()
  const add = (key: string, msg: string): void => {
    const list = byKey.get(key) ?? []
    if (!list.includes(msg)) list.push(msg)
    byKey.set(key, list)
  }
  // A union of literals (TypeBox's Union of Literal: anyOf of const) is named by its values.
  const literals = new Map<string, string[]>()
  for (const e of errors) {
    if (e.keyword !== 'const') continue
    const key = keyName(e.instancePath)
    literals.set(key, [...(literals.get(key) ?? []), String((e.params as { allowedValue?: unknown }).allowedValue)])
  }
  for (const e of withoutLosingBranches(errors)) {
    const key = keyName(e.instancePath)
    const params = e.params as Record<string, unknown>
    // mustBe: a schema's own wording for a value that fails its pattern or every branch
    // of its anyOf ("must be a date YYYY-MM-DD"); descriptions are documentation.
    const parent = (e.parentSchema ?? {}) as { mustBe?: string, properties?: Record<string, unknown> }
    switch (e.keyword) {
      case 'additionalProperties': {
        const allowed = Object.keys(parent.properties ?? {})
        add(keyName(`${e.instancePath}/${String(params.additionalProperty)}`), `unknown key${allowed.length > 0 ? ` (allowed here: ${allowed.join(', ')})` : ''}`)
        break
      }
      case 'required':
        add(keyName(`${e.instancePath}/${String(params.missingProperty)}`), 'is required')
        break
      case 'enum':
        add(key, `must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}`)
        break
      case 'anyOf':
        if (literals.has(key)) add(key, `must be one of: ${literals.get(key)?.join(', ') ?? ''}`)
        else add(key, parent.mustBe !== undefined ? `must be ${parent.mustBe}` : (e.message ?? 'does not match any allowed form'))
        break
      case 'pattern':
        add(key, parent.mustBe !== undefined ? `must be ${parent.mustBe}` : `has a form or characters that are not allowed (must match ${String(params.pattern)})`)
        break
      case 'minLength':
      case 'minItems':
      case 'minProperties':
        add(key, params.limit === 1 ? 'must not be empty' : (e.message ?? e.keyword))
        break
      default:
        add(key, e.message ?? e.keyword)
    }
  }
  return [...byKey].map(([key, msgs]) => `${key}: ${msgs.join('; ')}`)
}

/**
 * Ajv reports every branch of a failed anyOf. When the value has the kind of exactly
 * one branch (an object where a text or an object may stand), that branch's errors
 * say what is wrong and the others are noise; otherwise the anyOf error alone does.
 */
function withoutLosingBranches (errors: readonly ErrorObject[]): ErrorObject[] {
  const drop = new Set<ErrorObject>()
  for (const any of errors.filter(e => e.keyword === 'anyOf')) {
    const prefix = `${any.schemaPath}/`
    const branchOf = (e: ErrorObject): string | undefined =>
      e.schemaPath.startsWith(prefix) ? e.schemaPath.slice(prefix.length).split('/')[0] : undefined
    const inside = errors.filter(e => e !== any && branchOf(e) !== undefined)
    const branches = new Set(inside.map(branchOf))
    const wrongKind = new Set(inside.filter(e => e.keyword === 'type' && e.instancePath === any.instancePath).map(branchOf))
    const fitting = [...branches].filter(b => !wrongKind.has(b))
    if (fitting.length === 1) {
      drop.add(any)
      for (const e of inside) if (branchOf(e) !== fitting[0]) drop.add(e)
    } else {
      for (const e of inside) drop.add(e)
    }
  }
  return errors.filter(e => !drop.has(e))
}
