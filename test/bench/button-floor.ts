// Benchmark 6, the transfer button against its floor on the real PBX: the Asterisk 22
// sandbox with a few queue members, calls placed one at a time by a driver (the sandbox
// admin AMI user), each reaching an agent through the queue, then transferred to CC
// ICONNET (Direct Transfer 3), the customer landing there (UserEvent IconnetArrived)
// and hanging up. Two ways, one press at a time, alternating round by round in the
// same run on the same PBX:
//   bare         the floor: a bare asterisk-manager client, logged in as the service's
//                own AMI user (same privileges, same event classes), sends BlindTransfer
//                for the agent's channel (AgentConnect's DestChannel) and waits for its
//                BlindTransfer event: write -> event, in that client. No service runs.
//   <engine>     the service (lib/service-child.ts: createService, its real store, on
//                SQLite or PostgreSQL, lib/engines.ts) with the call classified
//                (activation inquiry) and consented, then the button: POST
//                /v1/calls/:id/direct-transfer -> 200, timed by the HTTP client on
//                loopback (what the agent's screen waits for); the service-side time
//                (Fastify's start of the request -> the 200 handed to the socket) too.
//   held         the SOP's floor: the same bare client sends QueuePause for the agent's
//                interface (ACW's hold, which the service sends before the customer
//                leaves) and then BlindTransfer on the same session: QueuePause's write
//                -> the BlindTransfer event. The agent is unpaused after the call.
// Reported per variant: p50/p99; per engine: button / bare for p50 and p99 (client
// round trip; the service-side ratio beside it), button / held beside it, and the
// service-side phases (to BlindTransfer written, the PBX to its event, event to 200).
// Target (issue 13): button / bare both <= 1.5.
// Each service (a fresh process a round) first makes --warm presses that are not counted.
//   tsx test/bench/button-floor.ts [--engines sqlite,postgres] [--rounds 3] [--presses 20] [--warm 5] [--agents 4] [--acw 1]
import path from 'node:path'
import os from 'node:os'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import pino from 'pino'
import AsteriskManager from 'asterisk-manager'
import { Agent } from 'undici'
import { AmiClient, type AmiEvent } from '../../src/ami/index.ts'
import { ADMIN_USER, CTI_USER } from '../pbx/sandbox.ts'
import { waitFor } from '../helpers/ami.ts'
import { agentIds, memberInterface } from './lib/ami-stream.ts'
import { sandboxWithAgents } from './lib/pbx.ts'
import { agentToken, benchRawConfig, TOKENS } from './lib/config.ts'
import { serviceClient, must } from './lib/button.ts'
import { startTarget, type Target } from './lib/proc.ts'
import { enginesArg, Engines, type Engine } from './lib/engines.ts'
import { figure, machineFigure, met, note, percentile, round, sleep, summary } from './lib/report.ts'
import { numArg } from './lib/args.ts'
import type { Timing } from './lib/service-child.ts'

const BENCH = 'button-floor'
const here = path.dirname(fileURLToPath(import.meta.url))
const engines = enginesArg()
const ROUNDS = numArg('rounds', 3)
const PRESSES = numArg('presses', 20)
const AGENTS = numArg('agents', 4)
const ACW = numArg('acw', 1)
// Presses on each fresh service before the counted ones: its first press runs cold code
// (measured: 36 ms service-side against 15-19 ms for the next ones), and with about seven
// presses a round that one press was the p99 by itself.
const WARM = numArg('warm', 5)
const TARGET = 1.5

machineFigure(BENCH)
const ids = agentIds(AGENTS)
// The PBX: the project's queues.conf with its members replaced by the benchmark's agents.
const sb = await sandboxWithAgents(ids)

const apkt = Fastify()
apkt.post('/apkt/records', async (_req, reply) => await reply.code(201).send({ ok: true }))
const apktUrl = `${await apkt.listen({ host: '127.0.0.1', port: 0 })}/apkt/records`
const stores = new Engines()
const http = new Agent({ connections: 8, keepAliveTimeout: 60_000 })
const call = serviceClient(http)

// The driver's view of the PBX.
interface Connected { callId: string, agentId: string, customer: string, agentChannel: string }
const connectedBy = new Map<string, Connected>() // caller number -> the call at its agent
const arrivedOf = new Map<string, string>() // call id (linkedid) -> channel that reached ICONNET
const hungUp = new Set<string>()
const paused = new Map<string, boolean>() // interface -> paused on the PBX (its last QueueMemberPause/Status)
const unpauses = new Map<string, number>() // interface -> QueueMemberPause events with Paused: 0 so far
const members = new Map<string, string>() // interface -> its last pause/status seen (for the error of a call no agent took)
const admin = new AmiClient({ host: '127.0.0.1', port: sb.amiPort, ...ADMIN_USER, actionTimeoutMs: 5000, connectTimeoutMs: 5000, pingIntervalMs: 10_000, reconnect: { initialMs: 200, maxMs: 2000 }, logger: pino({ level: 'silent' }) })
admin.on('event', (e: AmiEvent) => {
  if (e.known && e.event === 'AgentConnect') {
    const agentId = /^Local\/(\d+)@agents/.exec(e.fields.interface ?? '')?.[1] ?? ''
    connectedBy.set(e.fields.calleridnum ?? '', { callId: e.linkedid, agentId, customer: e.channel, agentChannel: e.destChannel ?? '' })
  } else if (e.known && e.event === 'UserEvent' && e.userEvent === 'IconnetArrived') arrivedOf.set(e.fields.linkedid ?? '', e.fields.channel ?? '')
  else if (e.fields.event === 'Hangup') hungUp.add(e.fields.channel ?? '')
  if (e.fields.event === 'QueueMemberPause' || e.fields.event === 'QueueMemberStatus') {
    members.set(e.fields.interface ?? '', `paused ${e.fields.paused ?? '?'} status ${e.fields.status ?? '?'}`)
    paused.set(e.fields.interface ?? '', e.fields.paused === '1')
    if (e.fields.event === 'QueueMemberPause' && e.fields.paused === '0') unpauses.set(e.fields.interface ?? '', (unpauses.get(e.fields.interface ?? '') ?? 0) + 1)
  }
})

let seq = 0
/** Places a call and waits until an agent has it. */
async function connectCall (): Promise<Connected> {
  const caller = `0813${String(10_000_000 + ++seq)}`
  await admin.action('Originate', { Channel: 'Local/s@caller', Context: 'inbound', Exten: '123', Priority: 1, CallerID: `"Pelanggan ${seq}" <${caller}>`, Async: 'true' })
  try {
    return await waitFor(`call ${caller} at an agent`, () => connectedBy.get(caller), 30_000)
  } catch (err) {
    throw new Error(`${(err as Error).message}; queue members: ${[...members].map(([k, v]) => `${k} ${v}`).join(', ')}`)
  }
}

/** The customer at ICONNET hangs up; resolves once Asterisk says the channel is gone. */
async function endAtIconnet (callId: string): Promise<void> {
  const arrived = await waitFor(`call ${callId} at ICONNET`, () => arrivedOf.get(callId), 20_000)
  await admin.action('Hangup', { Channel: arrived })
  await waitFor(`call ${callId} hung up`, () => hungUp.has(arrived) ? true : undefined, 10_000)
}

/**
 * The floor: `n` presses by a bare asterisk-manager client, ms from write to its
 * BlindTransfer event. `held`: the SOP's floor, the agent paused (QueuePause, as ACW's
 * hold) before the BlindTransfer on the same session, timed from the QueuePause's write;
 * the agent is unpaused after the call.
 */
async function bareRound (n: number, held = false): Promise<number[]> {
  const mgr = AsteriskManager(sb.amiPort, '127.0.0.1', CTI_USER.username, CTI_USER.secret, true)
  const waiting = new Map<string, { t0: number, resolve: (ms: number) => void, reject: (err: Error) => void }>()
  mgr.on('managerevent', (ev: Record<string, string>) => {
    if (ev.event !== 'BlindTransfer') return
    const w = waiting.get(ev.transfererchannel ?? '')
    if (w === undefined) return
    const ms = performance.now() - w.t0
    waiting.delete(ev.transfererchannel ?? '')
    if (ev.result === 'Success') w.resolve(ms); else w.reject(new Error(`BlindTransfer: ${ev.result}`))
  })
  await waitFor('bare client logged in', async () => await new Promise<true | undefined>(resolve => {
    mgr.action({ action: 'Ping' }, (err, res) => resolve(err === undefined && res?.response === 'Success' ? true : undefined))
  }), 15_000)
  const out: number[] = []
  try {
    for (let i = 0; i < n; i++) {
      const c = await connectCall()
      await sleep(200) // the call settles (the agent says hello), as before the button
      const done = new Promise<number>((resolve, reject) => { waiting.set(c.agentChannel, { t0: performance.now(), resolve, reject }) })
      if (held) mgr.action({ action: 'QueuePause', interface: memberInterface(c.agentId), paused: 'true', reason: 'ACW' })
      mgr.action({ action: 'BlindTransfer', channel: c.agentChannel, context: 'direct-transfer', exten: '3' })
      const timeout = sleep(10_000).then(() => { throw new Error(`no BlindTransfer event for ${c.agentChannel}`) })
      out.push(await Promise.race([done, timeout]))
      await endAtIconnet(c.callId)
      if (held) {
        const unpausedBefore = unpauses.get(memberInterface(c.agentId)) ?? 0
        mgr.action({ action: 'QueuePause', interface: memberInterface(c.agentId), paused: 'false' })
        await waitFor(`agent ${c.agentId} unpaused`, () => (unpauses.get(memberInterface(c.agentId)) ?? 0) > unpausedBefore ? true : undefined, 10_000)
      }
    }
  } finally {
    await new Promise<void>(resolve => mgr.disconnect(() => resolve()))
  }
  return out
}

/** `n` presses of the button on a service running on `engine`: client round trips and the service's timings. */
interface Presses { client: number[], service: number[], toBlindTransfer: number[], pbx: number[], eventTo200: number[] }

async function serviceRound (engine: Engine, n: number): Promise<Presses> {
  const db = await stores.database(engine)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-floor-'))
  const raw = benchRawConfig({ amiPort: sb.amiPort, agents: AGENTS, acwSeconds: ACW, apktUrl, storePath: path.join(dir, 'cti.db'), logLevel: 'info' })
  // The service logs in as the sandbox's CTI user, like the bare client.
  raw.ami.username = CTI_USER.username
  raw.ami.secret = CTI_USER.secret
  let svc: Target | undefined
  const client: number[] = []
  const timed: Timing[] = []
  try {
    svc = await startTarget(path.join(here, 'lib', 'service-child.ts'), [], { ipc: true, stdout: process.env.BENCH_SERVICE_STDOUT === 'inherit' ? 'inherit' : 'ignore', env: { ...db.env, BENCH_CONFIG: JSON.stringify(raw) } })
    const s = svc
    for (let i = 0; i < WARM + n; i++) {
      const c = await connectCall()
      const token = agentToken(c.agentId)
      await waitFor(`service has ${c.callId} connected`, async () => {
        const r = await call(s, 'GET', `/v1/calls/${c.callId}`, token)
        return r.status === 200 && r.body?.state === 'connected' ? true : undefined
      }, 10_000)
      await must('inquiry', call(s, 'POST', `/v1/calls/${c.callId}/inquiry`, token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } }))
      await must('consent', call(s, 'POST', `/v1/calls/${c.callId}/consent`, token, { accepted: true }))
      await s.ask({ cmd: 'timings' }) // drop the setup's
      const unpausedBefore = unpauses.get(memberInterface(c.agentId)) ?? 0
      const r = await call(s, 'POST', `/v1/calls/${c.callId}/direct-transfer`, token, { target: 3 })
      if (r.status !== 200) throw new Error(`direct-transfer ${c.callId}: HTTP ${r.status} ${JSON.stringify(r.body)}`)
      // This press's timing now: the next call's setup drops what came before it.
      const mine = (await s.ask<Timing[]>({ cmd: 'timings' })).filter(x => x.kind === 'transfer' && x.status === 200)
      if (i >= WARM) { client.push(r.ms); timed.push(...mine) }
      await endAtIconnet(c.callId)
      // Every agent out of ACW before the next call, so each press meets the same PBX:
      // Asterisk has seen the unpause at the end of this press's ACW (the next service,
      // on a fresh database, would not know to end it), and the service says ready.
      await waitFor(`agent ${c.agentId} unpaused after ACW`, () => (unpauses.get(memberInterface(c.agentId)) ?? 0) > unpausedBefore ? true : undefined, ACW * 1000 + 15_000)
      await waitFor('agents ready', async () => {
        const a = await call(s, 'GET', '/v1/agents', TOKENS.supervisor)
        const ready = (a.body as Array<{ state: string }>).every(x => x.state === 'ready') && ids.every(id => paused.get(memberInterface(id)) !== true)
        return ready ? true : undefined
      }, 20_000)
    }
    if (timed.length !== n) throw new Error(`${engine}: ${timed.length} timed presses for ${n}`)
    return { client, service: timed.map(x => (x.end ?? NaN) - x.start), toBlindTransfer: timed.map(x => (x.blindTransferAt ?? NaN) - x.start), pbx: timed.map(x => (x.confirmedAt ?? NaN) - (x.blindTransferAt ?? NaN)), eventTo200: timed.map(x => (x.end ?? NaN) - (x.confirmedAt ?? NaN)) }
  } finally {
    await svc?.stop()
    rmSync(dir, { recursive: true, force: true })
    await db.drop()
  }
}

const bare: number[] = []
const held: number[] = []
const button = new Map<Engine, Presses>(engines.map(e => [e, { client: [], service: [], toBlindTransfer: [], pbx: [], eventTo200: [] }]))
try {
  admin.start()
  await waitFor('driver login', () => admin.ready, 60_000)
  const variants: Array<Engine | 'bare' | 'held'> = ['bare', 'held', ...engines]
  const perRound = Math.max(1, Math.ceil(PRESSES / ROUNDS))
  for (let r = 0; r < ROUNDS; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length] as Engine | 'bare' | 'held')
    const line: string[] = []
    for (const v of order) {
      if (v === 'bare') {
        const ms = await bareRound(perRound)
        bare.push(...ms)
        line.push(`bare p50 ${percentile(ms, 50).toFixed(2)} ms`)
      } else if (v === 'held') {
        const ms = await bareRound(perRound, true)
        held.push(...ms)
        line.push(`held p50 ${percentile(ms, 50).toFixed(2)} ms`)
      } else {
        const res = await serviceRound(v, perRound)
        const b = button.get(v) as Presses
        for (const k of ['client', 'service', 'toBlindTransfer', 'pbx', 'eventTo200'] as const) b[k].push(...res[k])
        line.push(`${v} p50 ${percentile(res.client, 50).toFixed(2)} ms`)
      }
    }
    note(`round ${r + 1}/${ROUNDS}: ${line.join(', ')}`)
  }
} finally {
  await admin.close().catch(() => {})
  await http.close()
  await apkt.close()
  await stores.close()
  await sb.destroy()
}

figure({ bench: BENCH, name: 'bare.blindtransfer_to_event.p50', value: percentile(bare, 50), unit: 'ms', presses: bare.length })
figure({ bench: BENCH, name: 'bare.blindtransfer_to_event.p99', value: percentile(bare, 99), unit: 'ms', presses: bare.length })
figure({ bench: BENCH, name: 'held.queuepause_blindtransfer_to_event.p50', value: percentile(held, 50), unit: 'ms', presses: held.length })
figure({ bench: BENCH, name: 'held.queuepause_blindtransfer_to_event.p99', value: percentile(held, 99), unit: 'ms', presses: held.length })
const texts: string[] = []
for (const [engine, b] of button) {
  const e = { engine }
  for (const q of [50, 99] as const) {
    const ratio = percentile(b.client, q) / percentile(bare, q)
    figure({ bench: BENCH, ...e, name: `${engine}.button_to_200.p${q}`, value: percentile(b.client, q), unit: 'ms', presses: b.client.length, serviceSide: round(percentile(b.service, q)) })
    figure({ bench: BENCH, ...e, name: `${engine}.ratio.button_over_bare.p${q}`, value: ratio, unit: 'ratio', serviceSideRatio: round(percentile(b.service, q) / percentile(bare, q)), target: TARGET, met: ratio <= TARGET })
  }
  const h50 = percentile(b.client, 50) / percentile(held, 50)
  const h99 = percentile(b.client, 99) / percentile(held, 99)
  figure({ bench: BENCH, ...e, name: `${engine}.ratio.button_over_held`, value: h50, unit: 'ratio', p99: round(h99) })
  figure({ bench: BENCH, ...e, name: `${engine}.phases_p50`, value: percentile(b.service, 50), unit: 'ms', toBlindTransfer: round(percentile(b.toBlindTransfer, 50)), pbxRoundTrip: round(percentile(b.pbx, 50)), eventTo200: round(percentile(b.eventTo200, 50)) })
  const r50 = percentile(b.client, 50) / percentile(bare, 50)
  const r99 = percentile(b.client, 99) / percentile(bare, 99)
  texts.push(`[${engine}] button -> 200 p50 ${percentile(b.client, 50).toFixed(2)} ms, p99 ${percentile(b.client, 99).toFixed(2)} ms (service-side ${percentile(b.service, 50).toFixed(2)} / ${percentile(b.service, 99).toFixed(2)} ms): ` +
    `${r50.toFixed(2)}x / ${r99.toFixed(2)}x the floor (target <= ${TARGET}: p50 ${met(r50 <= TARGET)}, p99 ${met(r99 <= TARGET)}), ` +
    `${h50.toFixed(2)}x / ${h99.toFixed(2)}x the held floor; service-side p50 phases: to BlindTransfer written ${percentile(b.toBlindTransfer, 50).toFixed(2)} ms, ` +
    `PBX to its event ${percentile(b.pbx, 50).toFixed(2)} ms, event to 200 ${percentile(b.eventTo200, 50).toFixed(2)} ms`)
}
summary(BENCH, `one press at a time on Asterisk 22, ${bare.length} presses per variant: floor (bare asterisk-manager BlindTransfer -> its event) p50 ${percentile(bare, 50).toFixed(2)} ms, p99 ${percentile(bare, 99).toFixed(2)} ms; ` +
  `held floor (QueuePause then BlindTransfer -> its event, the SOP's order) p50 ${percentile(held, 50).toFixed(2)} ms, p99 ${percentile(held, 99).toFixed(2)} ms; ${texts.join('; ')}`)
process.exit(0)
