// The transfer button's benchmarks (transfer-latency, purge) drive the service the same
// way: authenticated JSON calls over one undici Agent, and calls made ready to transfer
// through the public API (CTI call.answered, an activation inquiry, the customer's YA).
import { request, type Agent } from 'undici'
import { agentToken, TOKENS } from './config.ts'
import type { Target } from './proc.ts'

export interface Answer { status: number, body: any, ms: number }
export type Call = (svc: Target, method: 'GET' | 'POST', url: string, token: string, body?: unknown) => Promise<Answer>

/** A JSON client of the service; `ms` is the client's round trip. */
export function serviceClient (http: Agent): Call {
  return async (svc, method, url, token, body) => {
    const t0 = performance.now()
    const res = await request(`${svc.url}${url}`, {
      method,
      dispatcher: http,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {})
    })
    const text = await res.body.text()
    const ms = performance.now() - t0
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.statusCode, body: parsed, ms }
  }
}

/** Throws, naming the step, unless the answer has `status`. */
export async function must (what: string, p: Promise<{ status: number, body: any }>, status = 200): Promise<void> {
  const r = await p
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`)
}

/** One call per agent (`prefix-tag-i`), answered, classified (activation: transfer) and consented. */
export async function callsReadyToTransfer (call: Call, svc: Target, ids: readonly string[], prefix: string, tag: string): Promise<string[]> {
  const callIds = ids.map((_, i) => `${prefix}-${tag}-${i}`)
  await Promise.all(ids.map(async (agentId, i) => {
    const callId = callIds[i] as string
    await must('call.answered', call(svc, 'POST', '/v1/cti/events', TOKENS.pbx, {
      type: 'call.answered', callId, agentId,
      data: { customerChannel: `PJSIP/trunk-${tag}-${i}`, agentChannel: `Local/${agentId}@agents-${tag}${i};1`, callerIdNum: `0812${String(i).padStart(8, '0')}`, queue: 'pln123' }
    }), 202)
    await must('inquiry', call(svc, 'POST', `/v1/calls/${callId}/inquiry`, agentToken(agentId), { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } }))
    await must('consent', call(svc, 'POST', `/v1/calls/${callId}/consent`, agentToken(agentId), { accepted: true }))
  }))
  return callIds
}
