// npm run demo -- --ha: an HA group (CONTRACT.md section 6) on the real parts: the
// Asterisk sandbox, a local PostgreSQL server (a throwaway cluster, a database owned by
// a non-superuser role), a local APKT receiver, and two instances of the service, each
// its own process of src/server.ts with the same config and its own ha.instanceId
// (cti-a on CTI_HTTP_PORT or 8123, cti-b on the next port). It shows, step by step:
// who is active; a call answered and classified through the standby (which forwards to
// the active); the active SIGKILLed; the standby taking over (the time it took); the
// transfer pressed on the survivor, its APKT record; the killed one started again, now a
// standby; the group as GET /v1/status lists it. Then it keeps running (Ctrl-C stops).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import YAML from 'yaml'
import { AmiClient, type AmiEvent } from '../../src/ami/index.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { startCluster } from '../helpers/postgres.ts'
import { ADMIN_USER, PbxSandbox, freePort } from './sandbox.ts'
import { DEMO_APKT_TOKEN, startDemoReceiver } from './demo-receiver.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const LEASE_MS = 3000
const say = (line: string): void => { process.stdout.write(`${line}\n`) }
const step = (line: string): void => say(`  - ${line}`)
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
async function until<T> (what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

say('pln123-cti HA demo: starting a real Asterisk 22 sandbox and a local PostgreSQL ...')
const sb = await PbxSandbox.start()
const cluster = await startCluster()
const db = await cluster.createDatabase({ name: 'pln123' })
say(`  Asterisk AMI on 127.0.0.1:${sb.amiPort}; PostgreSQL on ${cluster.host}:${cluster.port}, database ${db.name} owned by ${db.role} (not a superuser)`)

const apkt = await startDemoReceiver()
const { received } = apkt

const firstPort = Number(process.env.CTI_HTTP_PORT ?? 8123)
const portA = firstPort === 0 ? await freePort() : firstPort
const portB = firstPort === 0 ? await freePort() : firstPort + 1
const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-demo-ha-'))
interface Instance { id: string, url: string, file: string, child?: ChildProcess }
const instances: Instance[] = [['cti-a', portA], ['cti-b', portB]].map(([id, port]) => {
  const raw = baseRawConfig(sb.amiPort)
  raw.http.port = port
  raw.log.level = process.env.CTI_LOG_LEVEL ?? 'warn'
  raw.acw = { seconds: 5, mode: 'fixed' }
  raw.apkt = { url: apkt.url, token: DEMO_APKT_TOKEN, timeoutMs: 2000, dispatcher: { pollMs: 200, backoff: { initialMs: 200, maxMs: 2000 } } }
  const file = path.join(dir, `${id as string}.yaml`)
  writeFileSync(file, YAML.stringify(raw))
  return { id: id as string, url: `http://127.0.0.1:${port as number}`, file }
})
const [a, b] = instances as [Instance, Instance]
const start = (inst: Instance): void => {
  // setpriv --pdeathsig: an instance never outlives the demo, however the demo ends.
  inst.child = spawn('setpriv', ['--pdeathsig', 'KILL', process.execPath, '--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    stdio: ['ignore', process.env.CTI_LOG_LEVEL !== undefined ? 'inherit' : 'ignore', 'inherit'],
    // CTI_HTTP_PORT is the demo's (the first port), not the instances': each has its own in its file.
    env: { ...process.env, CTI_HTTP_PORT: undefined, CTI_CONFIG: inst.file, CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url, CTI_HA_INSTANCE_ID: inst.id, CTI_HA_ADVERTISE_URL: inst.url, CTI_HA_LEASE_MS: String(LEASE_MS) }
  })
}
const role = async (inst: Instance): Promise<string | undefined> => {
  try {
    const r = await fetch(`${inst.url}/readyz`, { signal: AbortSignal.timeout(500) })
    return r.ok ? ((await r.json()) as { role?: string }).role : undefined
  } catch { return undefined }
}
async function api (inst: Instance, method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(`${inst.url}${url}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.text()
  try { return { status: res.status, body: JSON.parse(text) } } catch { return { status: res.status, body: text } }
}

say('\n== the group: two instances, one database, one Asterisk')
start(a)
await until('cti-a active', async () => await role(a) === 'active' ? true : undefined, 60_000)
step(`cti-a on ${a.url}: active (it holds the lease; it alone talks to Asterisk and delivers APKT records)`)
start(b)
await until('cti-b standby', async () => await role(b) === 'standby' ? true : undefined, 60_000)
step(`cti-b on ${b.url}: standby (it serves every route by forwarding to the active)`)

const admin = new AmiClient({ host: '127.0.0.1', port: sb.amiPort, ...ADMIN_USER, actionTimeoutMs: 3000, connectTimeoutMs: 3000, pingIntervalMs: 10_000, reconnect: { initialMs: 200, maxMs: 2000 }, logger: pino({ level: 'silent' }) })
const pbx: AmiEvent[] = []
admin.on('event', e => pbx.push(e))
admin.start()
await until('driver login', () => admin.ready ? true : undefined)

say('\n== a call, classified through the standby')
const caller = '081220000001'
await admin.action('Originate', { Channel: 'Local/s@caller', Context: 'inbound', Exten: '123', Priority: 1, CallerID: `"Budi" <${caller}>`, Async: 'true' })
const ac = await until('the call at an agent', () => pbx.find(e => e.event === 'AgentConnect' && e.fields.calleridnum === caller))
const callId = ac.fields.linkedid ?? ''
const agentId = /Local\/(\d+)@/.exec(ac.fields.interface ?? '')?.[1] ?? ''
const token = agentId === '1001' ? TOKENS.agent1001 : TOKENS.agent1002
step(`queue pln123 connected the call ${callId} to agent ${agentId}`)
await until('the call known', async () => (await api(b, 'GET', `/v1/calls/${callId}`, TOKENS.supervisor)).body?.state === 'connected' ? true : undefined)
const inq = await api(b, 'POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
step(`POST /v1/calls/${callId}/inquiry to cti-b (standby): ${inq.status}, topic activation, action ${inq.body.action as string} (done by the active)`)
const con = await api(b, 'POST', `/v1/calls/${callId}/consent`, token, { accepted: true })
step(`POST .../consent to cti-b: ${con.status}; the customer said YA`)

say('\n== the active dies (SIGKILL)')
const killedAt = Date.now()
a.child?.kill('SIGKILL')
step('cti-a killed')
await until('cti-b active', async () => await role(b) === 'active' ? true : undefined, LEASE_MS + 30_000)
step(`cti-b is active ${Date.now() - killedAt} ms later (lease ${LEASE_MS} ms; the promise: within the lease + 3 s): it loaded the calls from the database and resynced from Asterisk`)
const view = await api(b, 'GET', `/v1/calls/${callId}`, TOKENS.supervisor)
step(`the call on cti-b: ${view.body.state as string}, topic ${view.body.topic as string}, consent ${view.body.consent?.accepted === true ? 'YA' : '?'}`)
const t0 = Date.now()
const tr = await api(b, 'POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
step(`Direct Transfer 3 pressed on cti-b: ${tr.status} in ${Date.now() - t0} ms`)
const arrived = await until('the customer at ICONNET', () => pbx.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === callId))
step(`the customer is at 3@direct-transfer (${arrived.fields.channel ?? '?'}); one BlindTransfer: ${pbx.filter(e => e.event === 'BlindTransfer' && e.fields.transfereelinkedid === callId).length}`)
const rec = await until('the APKT record', () => received.find(r => r.callId === callId), 15_000)
step(`APKT record delivered by cti-b: "${rec.permasalahan as string}"`)
await admin.action('Hangup', { Channel: arrived.fields.channel ?? '' })

say('\n== the killed instance comes back')
start(a)
await until('cti-a standby', async () => await role(a) === 'standby' ? true : undefined, 60_000)
step('cti-a started again: standby (cti-b keeps the lease)')
const status = await api(b, 'GET', '/v1/status', TOKENS.supervisor)
for (const i of (status.body.instances ?? []) as Array<{ id: string, role: string, advertiseUrl: string | null, lastSeenAt: string }>) {
  step(`GET /v1/status: ${i.id} ${i.role} at ${i.advertiseUrl ?? '?'}, last seen ${i.lastSeenAt}`)
}

say(`
The group keeps running. Try it (Ctrl-C to stop):
  cti-a        ${a.url}/readyz   cti-b ${b.url}/readyz   (role: active or standby)
  dashboard    ${a.url}/  or  ${b.url}/   (supervisor token ${TOKENS.supervisor})
  group        curl -H 'Authorization: Bearer ${TOKENS.supervisor}' ${b.url}/v1/status
  a takeover   kill -9 the active's process (pids: cti-a ${a.child?.pid ?? '?'}, cti-b ${b.child?.pid ?? '?'})`)

let stopping = false
async function stop (): Promise<void> {
  if (stopping) return
  stopping = true
  say('\nstopping ...')
  for (const inst of instances) inst.child?.kill('SIGTERM')
  await sleep(1000)
  await admin.close()
  await apkt.close()
  await sb.destroy()
  await cluster.destroy()
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
if (process.env.DEMO_EXIT === '1') await stop()
