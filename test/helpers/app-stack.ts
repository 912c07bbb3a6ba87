// The whole service (createService: real wiring, real route table, SQLite in a temp
// dir) against a FakeAmi, with small request helpers. CTI events put calls in any state.
import type { Test } from 'tap'
import pino, { type Logger } from 'pino'
import { createService, type Service } from '../../src/service.ts'
import { FakeAmi, type Handler } from './fake-ami.ts'
import { TOKENS, testConfig } from './config.ts'
import { waitFor } from './ami.ts'

export interface Res { status: number, body: any, headers: Record<string, unknown>, text: string }

export interface AppStack {
  svc: Service
  fake: FakeAmi
  request: (method: string, url: string, opts?: { token?: string, body?: unknown, headers?: Record<string, string>, raw?: string | Buffer }) => Promise<Res>
  post: (url: string, token: string, body?: unknown) => Promise<Res>
  get: (url: string, token?: string) => Promise<Res>
  /** A call offered and answered by `agentId` with a known agent leg (transferable). */
  connectedCall: (callId: string, agentId?: string) => Promise<void>
}

/** Answers BlindTransfer like Asterisk: the response, then the BlindTransfer event with Result: Success. */
export const asteriskTransfers: Handler = (a, sock) => {
  if (a.headers.action !== 'BlindTransfer') return false
  const id = a.headers.actionid ?? ''
  sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Transfer succeeded\r\n\r\n`)
  sock.write(`Event: BlindTransfer\r\nResult: Success\r\nTransfererChannel: ${a.headers.channel ?? ''}\r\nTransfereeChannel: PJSIP/trunk-x\r\nContext: ${a.headers.context ?? ''}\r\nExtension: ${a.headers.exten ?? ''}\r\n\r\n`)
  return true
}

/** Answers QueuePause like app_queue: the response, then QueueMemberPause for the member. */
export const asteriskPauses: Handler = (a, sock) => {
  if (a.headers.action !== 'QueuePause') return false
  const id = a.headers.actionid ?? ''
  const paused = a.headers.paused === 'true'
  sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Interface paused successfully\r\n\r\n`)
  sock.write(`Event: QueueMemberPause\r\nQueue: pln123\r\nInterface: ${a.headers.interface ?? ''}\r\nMemberName: ${a.headers.interface ?? ''}\r\nStatus: 1\r\nPaused: ${paused ? 1 : 0}\r\nPausedReason: ${paused ? (a.headers.reason ?? '') : ''}\r\n\r\n`)
  return true
}

/** Both of the above: a PBX where transfers land and pauses take effect. */
export const asteriskWorks: Handler = (a, sock, f) => asteriskTransfers(a, sock, f) === true || asteriskPauses(a, sock, f) === true

export async function startAppStack (t: Test, opts: { handler?: Handler, edit?: (raw: Record<string, any>) => void, logger?: Logger } = {}): Promise<AppStack> {
  const fake = await FakeAmi.start(opts.handler !== undefined ? { handler: opts.handler } : {})
  const config = testConfig(fake.port, raw => { raw.ami.actionTimeoutMs = 500; opts.edit?.(raw) })
  const svc = await createService(config, opts.logger ?? pino({ level: 'silent' }))
  t.teardown(async () => { await svc.stop(); await fake.stop() })
  await svc.start()
  await waitFor('AMI', () => svc.ami.ready)
  const request: AppStack['request'] = async (method, url, o = {}) => {
    const headers: Record<string, string> = { ...(o.token !== undefined ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers }
    const r = await svc.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(o.raw !== undefined ? { payload: o.raw } : o.body !== undefined ? { payload: o.body as object } : {})
    })
    let body: unknown
    try { body = r.json() } catch { body = undefined }
    return { status: r.statusCode, body, headers: r.headers, text: r.body }
  }
  const post: AppStack['post'] = async (url, token, body) => await request('POST', url, { token, ...(body !== undefined ? { body } : {}) })
  const get: AppStack['get'] = async (url, token) => await request('GET', url, token !== undefined ? { token } : {})
  const connectedCall: AppStack['connectedCall'] = async (callId, agentId = '1001') => {
    const a = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId, data: { callerIdNum: '0811', customerChannel: `PJSIP/trunk-${callId}` } })
    const b = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId, agentId, data: { agentChannel: `Local/${agentId}@agents-${callId};1` } })
    if (a.status !== 202 || b.status !== 202) throw new Error(`could not set up call ${callId}: ${a.status} ${b.status} ${b.text}`)
  }
  return { svc, fake, request, post, get, connectedCall }
}
