// npm run demo: a real Asterisk sandbox, the service, and a local APKT receiver; an
// agent's login, a break (a pause with a reason, then ready) and one scripted call per
// topic through the real PBX with its wrap-up, each step printed (with the queue_log
// lines Asterisk wrote for it); then it keeps
// running (Ctrl-C to stop) so the API can be tried by hand. The store is an SQLite file
// (nothing to set up); `npm run demo -- --postgres` runs the same on a local PostgreSQL
// server started for the demo (test/helpers/postgres.ts: a throwaway cluster, a database
// owned by a non-superuser role, as a DBA would hand it over).
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import pino from 'pino'
import { AmiClient, type AmiEvent } from '../../src/ami/index.ts'
import { parseConfig } from '../../src/config/load.ts'
import { createService } from '../../src/service.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { startCluster, type PgCluster } from '../helpers/postgres.ts'
import { ADMIN_USER, PbxSandbox } from './sandbox.ts'
import { DEMO_APKT_TOKEN, startDemoReceiver } from './demo-receiver.ts'

// `--ha`: the group's demo instead (two instances, a takeover): test/pbx/demo-ha.ts.
if (process.argv.includes('--ha')) {
  await import('./demo-ha.ts')
  await new Promise(() => {}) // it runs until Ctrl-C (or exits itself)
}

const say = (line: string): void => { process.stdout.write(`${line}\n`) }
const step = (line: string): void => say(`  - ${line}`)
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

async function until<T> (what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`)
    await sleep(25)
  }
}

say('pln123-cti demo: starting a real Asterisk 22 sandbox ...')
const sb = await PbxSandbox.start()
say(`  Asterisk up, AMI on 127.0.0.1:${sb.amiPort}`)

// The local APKT receiver: what PLN's complaint system would get.
const apkt = await startDemoReceiver()
const { received } = apkt
say(`  APKT receiver on ${apkt.url}`)

const raw = baseRawConfig(sb.amiPort)
raw.http.port = Number(process.env.CTI_HTTP_PORT ?? 8123)
raw.log.level = process.env.CTI_LOG_LEVEL ?? 'warn'
raw.store.path = path.join(mkdtempSync(path.join(os.tmpdir(), 'pln123-demo-')), 'pln123-cti.db')
raw.apkt = { url: apkt.url, token: DEMO_APKT_TOKEN, timeoutMs: 2000, dispatcher: { pollMs: 200, backoff: { initialMs: 200, maxMs: 2000 } } }
const onPostgres = process.argv.includes('--postgres')
let cluster: PgCluster | undefined
const env: NodeJS.ProcessEnv = { ...process.env }
if (onPostgres) {
  say('  starting a local PostgreSQL server for the store (--postgres) ...')
  cluster = await startCluster()
  const db = await cluster.createDatabase({ name: 'pln123' })
  env.CTI_STORE_KIND = 'postgres'
  env.CTI_STORE_URL = db.url
  say(`  PostgreSQL on ${cluster.host}:${cluster.port}, database ${db.name} owned by ${db.role} (not a superuser)`)
}
const config = parseConfig(raw, env)
const svc = await createService(config, pino({ level: config.log.level }))
const address = await svc.start()
await until('AMI login', () => svc.ami.ready ? true : undefined)
say(`  pln123-cti listening on ${address} (store: ${svc.store.kind} ${svc.store.where})`)

const admin = new AmiClient({ host: '127.0.0.1', port: sb.amiPort, ...ADMIN_USER, actionTimeoutMs: 3000, connectTimeoutMs: 3000, pingIntervalMs: 10_000, reconnect: { initialMs: 200, maxMs: 2000 }, logger: pino({ level: 'silent' }) })
const pbxEvents: AmiEvent[] = []
admin.on('event', e => pbxEvents.push(e))
admin.start()
await until('driver login', () => admin.ready ? true : undefined)

// Agent 1003 is added by the admin API below; its token is the one issued then.
const tokenOf: Record<string, string> = { 1001: TOKENS.agent1001, 1002: TOKENS.agent1002 }
async function api (method: 'GET' | 'POST' | 'PUT', url: string, token: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(`${address}${url}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.text()
  try { return { status: res.status, body: JSON.parse(text) } } catch { return { status: res.status, body: text } }
}

/** The queue_log lines Asterisk wrote since `from` (a line count), for an operator to see. */
const queueLogFile = path.join(sb.dir, 'log', 'queue_log')
async function queueLogLines (): Promise<string[]> {
  try { return (await readFile(queueLogFile, 'utf8')).split('\n').filter(l => l !== '') } catch { return [] }
}
async function showQueueLog (from: number, match: (line: string) => boolean = () => true): Promise<number> {
  // Asterisk writes queue_log a moment after the action: a short wait, not a condition.
  await sleep(300)
  const lines = await queueLogLines()
  for (const l of lines.slice(from).filter(match)) step(`queue_log: ${l}`)
  return lines.length
}

// ---- the agent's shift: added by an admin, login, a break, ready -------------------------
say('\n== shift: an admin adds agent 1003; it logs in at a free desk, takes a break, comes back')
let qlog = (await queueLogLines()).length
const PHONE_1003 = 'Local/1003@agents/n'
const added = await api('PUT', '/v1/admin/agents/1003', TOKENS.admin, { name: 'Agent 1003', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' })
if (added.status !== 201) throw new Error(`adding agent 1003 failed: ${JSON.stringify(added.body)}`)
step('admin adds agent 1003 (PUT /v1/admin/agents/1003: 201), no phone of its own: it gives one at login')
const issued = await api('POST', '/v1/admin/agents/1003/tokens', TOKENS.admin, { name: 'demo' })
if (issued.status !== 201) throw new Error(`token for 1003 failed: ${JSON.stringify(issued.body)}`)
const token1003 = issued.body.token as string
tokenOf['1003'] = token1003
step(`admin issues its token (POST /v1/admin/agents/1003/tokens: 201), shown once: ${token1003}`)
const login = await api('POST', '/v1/agents/1003/login', token1003, { interface: PHONE_1003 })
if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`)
step(`agent 1003 logs in at the phone ${login.body.interface as string} (POST /v1/agents/1003/login: QueueAdd to pln123): state ${login.body.state as string}, loggedOut ${String(login.body.loggedOut)}`)
qlog = await showQueueLog(qlog)
const brk = await api('POST', '/v1/agents/1003/pause', token1003, { reason: 'ISTIRAHAT' })
if (brk.status !== 200) throw new Error(`pause failed: ${JSON.stringify(brk.body)}`)
step(`agent 1003 goes on a break (POST /v1/agents/1003/pause {"reason":"ISTIRAHAT"}: QueuePause with the reason): state ${brk.body.state as string}, reason ${brk.body.pauseReason as string}, since ${brk.body.pausedSince as string}`)
const member = (await admin.list('QueueStatus', { Queue: 'pln123' })).items.find(i => i.event === 'QueueMember' && i.fields.location === PHONE_1003)
step(`Asterisk's QueueStatus for 1003: paused ${member?.fields.paused ?? '?'}, reason ${member?.fields.pausedreason ?? '?'} (the dashboard shows the reason and a running timer)`)
qlog = await showQueueLog(qlog)
await sleep(2000)
const back = await api('POST', '/v1/agents/1003/ready', token1003)
if (back.status !== 200) throw new Error(`ready failed: ${JSON.stringify(back.body)}`)
step(`agent 1003 is back after ${Math.round((Date.now() - Date.parse(brk.body.pausedSince as string)) / 1000)} s (POST /v1/agents/1003/ready: unpaused): state ${back.body.state as string}`)
qlog = await showQueueLog(qlog)

/** The call's wrap-up once its window closed (the agent's ACW ended): chosen, the topic's, or the default. */
async function finalWrapup (callId: string): Promise<Record<string, any>> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const c = await api('GET', `/v1/calls/${callId}`, TOKENS.supervisor)
    if (c.body?.wrapup?.final === true) return c.body.wrapup
    if (Date.now() > deadline) throw new Error(`demo: no final wrap-up for ${callId}: ${JSON.stringify(c.body)}`)
    await sleep(100)
  }
}

interface Scenario { topic: string, caller: string, customer: { name: string, salutation: 'Bapak' | 'Ibu' }, extra?: Record<string, unknown> }
const scenarios: Scenario[] = [
  { topic: 'coverage', caller: '081210000001', customer: { name: 'Budi', salutation: 'Bapak' }, extra: { area: 'Cilincing Jakarta Utara' } },
  { topic: 'billing', caller: '081210000002', customer: { name: 'Sari', salutation: 'Ibu' }, extra: { subscribedViaPlnMobile: false } },
  { topic: 'activation', caller: '081210000003', customer: { name: 'Budi', salutation: 'Bapak' } },
  { topic: 'disruption', caller: '081210000004', customer: { name: 'Rina', salutation: 'Ibu' } }
]

for (const sc of scenarios) {
  say(`\n== ${sc.topic}: ${sc.customer.salutation} ${sc.customer.name} calls 123 from ${sc.caller}`)
  await admin.action('Originate', { Channel: 'Local/s@caller', Context: 'inbound', Exten: '123', Priority: 1, CallerID: `"${sc.customer.name}" <${sc.caller}>`, Async: 'true' })
  const call = await until('the call to reach an agent', () => svc.tracker.liveCalls().find(c => c.callerIdNum === sc.caller && c.state === 'connected'))
  const agentId = call.agentId as string
  const token = tokenOf[agentId] as string
  step(`queue pln123 connected the call ${call.callId} to agent ${agentId} (agent leg ${call.agentChannel ?? '?'})`)
  const inq = await api('POST', `/v1/calls/${call.callId}/inquiry`, token, { topic: sc.topic, customer: sc.customer, ...sc.extra })
  if (inq.status !== 200) throw new Error(`inquiry failed: ${JSON.stringify(inq.body)}`)
  step(`script shown to the agent: "${inq.body.script as string}"`)
  for (const g of inq.body.guidance as string[]) step(`guidance: ${g}`)
  step(`APKT permasalahan: ${inq.body.apkt.permasalahan as string}`)
  if (inq.body.action !== 'transfer') {
    // The agent picks a wrap-up code during the call; a transferred call gets its topic's (TRANSFER_ICONNET) at ACW's end.
    const w = await api('POST', `/v1/calls/${call.callId}/wrapup`, token, { code: 'SELESAI', note: `dijelaskan: ${sc.topic}` })
    if (w.status !== 200) throw new Error(`wrap-up failed: ${JSON.stringify(w.body)}`)
    step(`agent picks the wrap-up code ${w.body.wrapup.code as string} ("${w.body.wrapup.label as string}")`)
  }
  if (inq.body.action === 'transfer') {
    const c = await api('POST', `/v1/calls/${call.callId}/consent`, token, { accepted: true })
    step(`customer says "YA": consent recorded at ${c.body.consent.at as string}`)
    const t0 = Date.now()
    const tr = await api('POST', `/v1/calls/${call.callId}/direct-transfer`, token, { target: 3 })
    if (tr.status !== 200) throw new Error(`transfer failed: ${JSON.stringify(tr.body)}`)
    const arrived = await until('the customer at CC ICONNET', () => pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === call.callId))
    step(`Direct Transfer 3 pressed: 200 in ${Date.now() - t0} ms; transfer landed: ${arrived.fields.calleridnum ?? '?'} is at 3@direct-transfer (${arrived.fields.channel ?? '?'})`)
    await admin.action('Hangup', { Channel: arrived.fields.channel ?? '' })
  } else {
    step('agent educates the customer; the customer hangs up')
    await admin.action('Hangup', { Channel: call.customerChannel ?? '' })
  }
  const rec = await until('the APKT record at the receiver', () => received.find(r => r.callId === call.callId), 10_000)
  step(`APKT record delivered: ${rec.jenis as string} / ${rec.tipeKeluhan as string} / ${rec.subTipeKeluhan as string}, ${rec.unit as string}: "${rec.permasalahan as string}"`)
  const agent = await api('GET', `/v1/agents/${agentId}`, TOKENS.supervisor)
  step(`agent ${agentId} is now ${agent.body.state as string}${agent.body.acwEndsAt !== undefined ? ` until ${agent.body.acwEndsAt as string}` : ''}`)
  const wrapup = await finalWrapup(call.callId)
  step(`wrap-up after ACW: ${wrapup.code as string} ("${wrapup.label as string}"), ${wrapup.source === 'agent' ? `chosen by ${wrapup.by as string}` : wrapup.source === 'topic' ? 'the topic\'s code (none chosen)' : 'the default (none chosen)'}`)
  qlog = await showQueueLog(qlog, l => l.split('|')[1] === call.callId)
}

say(`
The demo keeps running. Try it (Ctrl-C to stop):
  dashboard    ${address}/   (sign in with the supervisor token below)
  agent panel  ${address}/agent   (sign in with an agent token below)
  API          ${address}   (readiness: ${address}/readyz)
  supervisor   curl -H 'Authorization: Bearer ${TOKENS.supervisor}' ${address}/v1/agents
  agent 1001   token ${TOKENS.agent1001}
  agent 1002   token ${TOKENS.agent1002}
  agent 1003   token ${tokenOf['1003'] ?? '?'}   (added and logged in at ${PHONE_1003} by the demo)
  admin page   ${address}/admin   (the "Agen" page: add, change, remove agents, issue tokens; admin token ${TOKENS.admin})
  PBX hook     curl -H 'Authorization: Bearer ${TOKENS.pbx}' ${address}/v1/dialplan/directory/3
  APKT records received so far: ${received.length}`)

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  say('\nstopping ...')
  await admin.close()
  await svc.stop()
  await apkt.close()
  await sb.destroy()
  await cluster?.destroy()
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
