// npm run demo: a real Asterisk sandbox, the service, and a local APKT receiver; one
// scripted call per topic through the real PBX, each step printed; then it keeps
// running (Ctrl-C to stop) so the API can be tried by hand. The store is an SQLite file
// (nothing to set up); `npm run demo -- --postgres` runs the same on a local PostgreSQL
// server started for the demo (test/helpers/postgres.ts: a throwaway cluster, a database
// owned by a non-superuser role, as a DBA would hand it over).
import Fastify from 'fastify'
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync } from 'node:fs'
import pino from 'pino'
import { AmiClient, type AmiEvent } from '../../src/ami/index.ts'
import { parseConfig } from '../../src/config/load.ts'
import { createService } from '../../src/service.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { startCluster, type PgCluster } from '../helpers/postgres.ts'
import { ADMIN_USER, PbxSandbox, freePort } from './sandbox.ts'

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
const received: Array<Record<string, unknown>> = []
const apkt = Fastify()
apkt.post('/apkt/records', async (req, reply) => {
  if (req.headers.authorization !== 'Bearer demo-apkt-token') return await reply.code(401).send({ error: 'bad token' })
  received.push(req.body as Record<string, unknown>)
  return await reply.code(201).send({ ok: true })
})
const apktPort = await freePort()
await apkt.listen({ host: '127.0.0.1', port: apktPort })
say(`  APKT receiver on http://127.0.0.1:${apktPort}/apkt/records`)

const raw = baseRawConfig(sb.amiPort)
raw.http.port = Number(process.env.CTI_HTTP_PORT ?? 8123)
raw.log.level = process.env.CTI_LOG_LEVEL ?? 'warn'
raw.store.path = path.join(mkdtempSync(path.join(os.tmpdir(), 'pln123-demo-')), 'pln123-cti.db')
raw.apkt = { url: `http://127.0.0.1:${apktPort}/apkt/records`, token: 'demo-apkt-token', timeoutMs: 2000, dispatcher: { pollMs: 200, backoff: { initialMs: 200, maxMs: 2000 } } }
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

const tokenOf: Record<string, string> = { 1001: TOKENS.agent1001, 1002: TOKENS.agent1002 }
async function api (method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(`${address}${url}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.text()
  try { return { status: res.status, body: JSON.parse(text) } } catch { return { status: res.status, body: text } }
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
}

say(`
The demo keeps running. Try it (Ctrl-C to stop):
  dashboard    ${address}/   (sign in with the supervisor token below)
  agent panel  ${address}/agent   (sign in with an agent token below)
  API          ${address}   (readiness: ${address}/readyz)
  supervisor   curl -H 'Authorization: Bearer ${TOKENS.supervisor}' ${address}/v1/agents
  agent 1001   token ${TOKENS.agent1001}
  agent 1002   token ${TOKENS.agent1002}
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
