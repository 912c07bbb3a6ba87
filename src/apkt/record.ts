// The APKT record as posted (CONTRACT.md section 5), built from a call outcome and
// the routing policy's apkt fields. Pure: the clock and the id come in, so the same
// input always gives the same record and tests can state it exactly.
import { randomUUID } from 'node:crypto'
import type { Topic } from '../policy/types.ts'

export type ApktTopic = Topic

/** The policy decision's apkt part (src/policy's Decision['apkt'] has this shape). */
export interface ApktFields {
  jenis: string
  tipeKeluhan: string
  subTipeKeluhan: string
  permasalahan: string
}

export interface ApktRecord {
  id: string
  jenis: string
  tipeKeluhan: string
  subTipeKeluhan: string
  unit: string
  unitPelayanan: string
  lokasi: string | null
  permasalahan: string
  callId: string
  agentId: string
  customer: { name: string, customerId: string | null }
  topic: ApktTopic
  createdAt: string
}

export interface ApktRecordInput {
  callId: string
  agentId: string
  topic: ApktTopic
  apkt: ApktFields
  customer: { name: string, customerId?: string | null }
  /** The agent's unit and unit pelayanan, from config. */
  unit: string
  unitPelayanan: string
  lokasi?: string | null
  at: Date
  /** Given when rebuilding a known record; a new uuid v4 otherwise. */
  id?: string
}

export class ApktRecordError extends Error {
  override readonly name = 'ApktRecordError'
}

// APKT wants its free-text fields upper-case (CONTRACT.md section 1). Identifiers
// (ids, callId, agentId, customerId, topic) are left as they are: they are matched,
// not read.
const upper = (field: string, value: string): string => {
  const v = value.trim().toUpperCase()
  if (v === '') throw new ApktRecordError(`${field} must not be empty`)
  return v
}

const optional = (value: string | null | undefined, transform: (v: string) => string): string | null => {
  if (value === undefined || value === null || value.trim() === '') return null
  return transform(value.trim())
}

const JAKARTA_OFFSET_MS = 7 * 60 * 60 * 1000

/** Asia/Jakarta local time with its offset, e.g. 2026-11-24T10:00:00+07:00 (UTC+7 all year, no DST). */
export function jakartaTime (at: Date): string {
  if (Number.isNaN(at.getTime())) throw new ApktRecordError('at is not a valid date')
  return `${new Date(at.getTime() + JAKARTA_OFFSET_MS).toISOString().slice(0, 19)}+07:00`
}

export function buildApktRecord (input: ApktRecordInput): ApktRecord {
  if (input.callId === '') throw new ApktRecordError('callId must not be empty')
  if (input.agentId === '') throw new ApktRecordError('agentId must not be empty')
  return {
    id: input.id ?? randomUUID(),
    jenis: upper('jenis', input.apkt.jenis),
    tipeKeluhan: upper('tipeKeluhan', input.apkt.tipeKeluhan),
    subTipeKeluhan: upper('subTipeKeluhan', input.apkt.subTipeKeluhan),
    unit: upper('unit', input.unit),
    unitPelayanan: upper('unitPelayanan', input.unitPelayanan),
    lokasi: optional(input.lokasi, v => v.toUpperCase()),
    permasalahan: upper('permasalahan', input.apkt.permasalahan),
    callId: input.callId,
    agentId: input.agentId,
    customer: {
      name: upper('customer.name', input.customer.name),
      customerId: optional(input.customer.customerId, v => v)
    },
    topic: input.topic,
    createdAt: jakartaTime(input.at)
  }
}
