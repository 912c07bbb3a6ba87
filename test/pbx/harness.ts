// The whole stack on the real sandbox for a test file: Asterisk, the service (real
// SQLite on disk, real AMI adapter logged in as the least-privilege user) and a test
// driver session (the admin AMI user) that places calls and watches the PBX.
import type { Test } from 'tap'
import pino from 'pino'
import type { AmiClient, AmiEvent } from '../../src/ami/index.ts'
import type { Config } from '../../src/config/schema.ts'
import { createService, type Service } from '../../src/service.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { ADMIN_USER, placeCall, sandboxClient, startSandbox } from './fixture.ts'
import type { PbxSandbox } from './sandbox.ts'

export const agentToken: Record<string, string> = { 1001: TOKENS.agent1001, 1002: TOKENS.agent1002 }

export interface Stack {
  sb: PbxSandbox
  svc: Service
  admin: AmiClient
  /** every event the admin session saw */
  pbxEvents: AmiEvent[]
  /** names of AMI actions the service sent */
  sent: Array<{ name: string, fields: Record<string, unknown> }>
  http: (method: 'GET' | 'POST', url: string, token: string, body?: unknown) => Promise<{ status: number, body: any }>
  /** places a call and waits until the service has it connected to an agent */
  call: (callerNum: string) => Promise<{ callId: string, agentId: string, token: string }>
  /** stops the service (as a deploy would) and starts a new one on the same store */
  restartService: (between?: () => Promise<void>) => Promise<void>
  config: Config
}

/** `env`: the store's environment (test/helpers/engines.ts storeEnv), SQLite when left out. */
export async function startStack (t: Test, edit: (raw: Record<string, any>) => void = () => {}, env: NodeJS.ProcessEnv = {}): Promise<Stack> {
  const sb = await startSandbox(t)
  const config: Config = testConfig(sb.amiPort, edit, env)
  const sent: Stack['sent'] = []
  const boot = async (): Promise<Service> => {
    const svc = await createService(config, pino({ level: process.env.TEST_LOG ?? 'silent' }))
    const action = svc.ami.action.bind(svc.ami)
    svc.ami.action = async (name, fields = {}, opts = {}) => { sent.push({ name, fields }); return await action(name, fields, opts) }
    t.teardown(() => svc.stop())
    await svc.start()
    await waitFor('service logged in to AMI', () => svc.ami.ready)
    return svc
  }
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  const pbxEvents: AmiEvent[] = []
  admin.on('event', e => pbxEvents.push(e))

  const http: Stack['http'] = async (method, url, token, body) => {
    const res = await stack.svc.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) })
    let parsed: unknown = res.body
    try { parsed = res.json() } catch {}
    return { status: res.statusCode, body: parsed }
  }

  const call: Stack['call'] = async (callerNum) => {
    await placeCall(admin, callerNum)
    const c = await waitFor(`call from ${callerNum} connected`, () =>
      stack.svc.tracker.liveCalls().find(c => c.callerIdNum === callerNum && c.state === 'connected' && c.agentId !== undefined), 15_000)
    const agentId = c.agentId as string
    return { callId: c.callId, agentId, token: agentToken[agentId] as string }
  }

  const stack: Stack = {
    sb, svc: await boot(), admin, pbxEvents, sent, http, call, config,
    async restartService (between) {
      await stack.svc.stop()
      if (between !== undefined) await between()
      stack.svc = await boot()
    }
  }
  return stack
}
