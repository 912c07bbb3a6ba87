// What an agent given at run time (admin API, CLI) must look like: the same rules as the
// config's `agents` (src/config/schema.ts), checked in one place so both front ends
// refuse the same input with the same words. Everything here may end up in an AMI
// header (interface, queues) or an APKT record (unit): one line, no control characters.
import { interfaceProblem } from './interface.ts'

export const AGENT_ID = /^[A-Za-z0-9_-]{1,32}$/
export const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/
const MAX_TEXT = 120
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/

/** What an admin may set on an agent. */
export interface AgentInput {
  name?: string
  queues: string[]
  unit: string
  unitPelayanan: string
  interface?: string
}

export interface FieldProblem { field: string, message: string }

export function agentIdProblem (id: string): string | undefined {
  return AGENT_ID.test(id) ? undefined : `agent id "${clip(id)}" must be 1 to 32 letters, digits, _ or -`
}

function textProblem (value: string, what: string): string | undefined {
  if (value.trim().length === 0) return `${what} is empty`
  if (value.length > MAX_TEXT) return `${what} is longer than ${MAX_TEXT} characters`
  if (CONTROL.test(value)) return `${what} contains a line break or a control character`
  return undefined
}

/** A token's name (who holds it, for the audit trail). */
export function tokenNameProblem (name: string): string | undefined { return textProblem(name, 'name') }

/** Every problem of `input`, each naming its field (`unit`, `queues[1]`, ...); empty when it is fine. */
export function agentInputProblems (input: AgentInput, technologies: readonly string[]): FieldProblem[] {
  const out: FieldProblem[] = []
  const add = (field: string, message: string | undefined): void => { if (message !== undefined) out.push({ field, message }) }
  if (input.name !== undefined) add('name', textProblem(input.name, 'name'))
  add('unit', textProblem(input.unit, 'unit'))
  add('unitPelayanan', textProblem(input.unitPelayanan, 'unitPelayanan'))
  if (input.queues.length === 0) add('queues', 'at least one queue is needed')
  input.queues.forEach((q, i) => { if (!QUEUE_NAME.test(q)) add(`queues[${i}]`, `queue "${clip(q)}" must be 1 to 64 letters, digits, _ or -`) })
  const dup = input.queues.find((q, i) => input.queues.indexOf(q) !== i)
  if (dup !== undefined) add('queues', `queue "${dup}" appears more than once`)
  if (input.interface !== undefined) add('interface', interfaceProblem(input.interface, technologies))
  return out
}

// A refused value is echoed in the message: never a control character, never long.
// eslint-disable-next-line no-control-regex
const clip = (s: string): string => { const c = s.replace(/[\x00-\x1f\x7f]/g, '?'); return c.length > 40 ? `${c.slice(0, 40)}…` : c }
