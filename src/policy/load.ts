// The only part of src/policy that touches the disk: every *.yaml in the policy
// directory, parsed and checked, becomes one PolicySet.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { PolicyFileError } from './errors.ts'
import { parsePolicy } from './parse.ts'
import { createPolicySet, type PolicySet } from './set.ts'
import type { PolicyContext } from './types.ts'

export function loadPolicies (dir: string, context: PolicyContext = {}): PolicySet {
  let names: string[]
  try {
    names = readdirSync(dir).filter(n => n.endsWith('.yaml')).sort()
  } catch (err) {
    throw new PolicyFileError(dir, [`cannot read the policy directory ${path.resolve(dir)}: ${codeOf(err)}`])
  }
  if (names.length === 0) throw new PolicyFileError(dir, [`no policy files (*.yaml) in ${path.resolve(dir)}`])
  const versions = names.map(name => {
    const file = path.join(dir, name)
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      throw new PolicyFileError(file, [`cannot read ${path.resolve(file)}: ${codeOf(err)}`])
    }
    return parsePolicy(text, file, context)
  })
  return createPolicySet(versions)
}

const codeOf = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message
