// Fault: the SQLite store stops taking writes while the service runs (SQLITE_READONLY,
// a real error from the real engine: PRAGMA query_only). In process, with a fake AMI
// that answers like Asterisk, so every path can be driven on demand: each request that
// must persist answers 503 STORE_UNAVAILABLE (never 500, never a success claim), reads
// still work, /readyz names the store, AMI events that cannot be recorded do not crash
// anything and are logged once, and once the store is back the picture is healed from
// Asterisk and requests succeed. The disk-full variant with a real process and the real
// sandbox is in store-full.test.ts.
import t, { type Test } from 'tap'
import pino from 'pino'
import { Writable } from 'node:stream'
import { createService, type Service } from '../../src/service.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { asteriskLike, type LogLine } from './lib.ts'

interface Ctx {
  svc: Service
  fake: FakeAmi
  lines: LogLine[]
  req: (method: 'GET' | 'POST', url: string, token: string, body?: unknown) => Promise<{ status: number, body: any }>
  readonly: (on: boolean) => void
  release: () => void
  channels: Array<Record<string, string>>
}

async function setup (t: Test): Promise<Ctx> {
  const channels: Array<Record<string, string>> = []
  let held: Array<() => void> = []
  let hold = false
  const fake = await FakeAmi.start({ handler: asteriskLike((send) => { if (hold) held.push(send); else send() }, () => channels) })
  const lines: LogLine[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine); cb() } })
  const svc = await createService(testConfig(fake.port, raw => {
    raw.ami.actionTimeoutMs = 1000
    raw.acw = { seconds: 30, mode: 'fixed' }
  }), pino({ level: 'debug' }, sink))
  t.teardown(async () => { await svc.stop(); await fake.stop() })
  await svc.start()
  await waitFor('AMI', () => svc.ami.ready)
  // The resync after login must not race the test's first CTI events.
  await waitFor('first resync', () => lines.some(l => l.msg === 'call state resynced from Asterisk'))
  const req: Ctx['req'] = async (method, url, token, body) => {
    const r = await svc.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { payload: body as object } : {}) })
    return { status: r.statusCode, body: r.json() }
  }
  return {
    svc, fake, lines, req, channels,
    readonly: (on) => { svc.store.db.pragma(`query_only = ${on ? 'ON' : 'OFF'}`) },
    // first call: hold BlindTransfer events from now on; release() sends the held ones
    release: () => { if (!hold) { hold = true; return } const h = held; held = []; hold = false; for (const f of h) f() }
  }
}


const leg = (agent: string, n: string): Record<string, string> => ({ Channel: `Local/${agent}@agents-0000${n};1`, Linkedid: `c-${n}`, BridgeId: `b-${n}`, Application: 'AppDial', Context: 'agents', Exten: agent, CallerIDNum: agent, CallerIDName: '' })
const customer = (n: string, opts: { bridge?: boolean, context?: string, exten?: string } = {}): Record<string, string> => ({ Channel: `PJSIP/trunk-${n}`, Linkedid: `c-${n}`, BridgeId: opts.bridge === false ? '' : `b-${n}`, Application: opts.bridge === false ? 'Wait' : 'Queue', Context: opts.context ?? 'inbound', Exten: opts.exten ?? '123', CallerIDNum: `0811${n}`, CallerIDName: 'X' })

async function connect (c: Ctx, n: string, agent: string): Promise<string> {
  const callId = `c-${n}`
  await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId, data: { callerIdNum: `0811${n}`, customerChannel: `PJSIP/trunk-${n}` } })
  const r = await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId, agentId: agent, data: { agentChannel: `Local/${agent}@agents-0000${n};1` } })
  if (r.status !== 202) throw new Error(`answered: ${r.status} ${JSON.stringify(r.body)}`)
  c.channels.push(leg(agent, n), customer(n))
  return callId
}

const token = (agent: string): string => agent === '1001' ? TOKENS.agent1001 : TOKENS.agent1002
const budi = { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } }

t.test('store read-only: 503 STORE_UNAVAILABLE for every write, nothing claimed, healed when back', async t => {
  const c = await setup(t)
  const c1 = await connect(c, '01', '1001')
  t.equal((await c.req('POST', `/v1/calls/${c1}/inquiry`, TOKENS.agent1001, budi)).status, 200)
  t.equal((await c.req('POST', `/v1/calls/${c1}/consent`, TOKENS.agent1001, { accepted: true })).status, 200)
  const c2 = await connect(c, '02', '1002')
  await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: c2, data: { reason: 'caller hung up' } })
  c.channels.splice(0, c.channels.length, ...c.channels.filter(ch => ch.Linkedid !== c2))
  t.equal((await c.req('GET', '/v1/agents/1002', TOKENS.supervisor)).body.state, 'acw', 'agent 1002 in ACW before the fault')

  c.readonly(true)
  // /readyz checks the store at most once a second: the first answer may predate the fault.
  const ready = await eventually('/readyz 503', async () => { const r = await c.req('GET', '/readyz', TOKENS.supervisor); return r.status === 503 ? r : undefined }, 3000)
  t.equal(ready.body.checks.store.ok, false)
  t.equal(ready.body.message, 'not ready: store', 'the store is named')
  t.equal(ready.body.checks.ami.ok, true, 'AMI is not blamed')
  const status = await c.req('GET', '/v1/status', TOKENS.supervisor)
  t.match(status.body.store.detail, /readonly/, `/v1/status says why: ${status.body.store.detail as string}`)

  const writes: Array<[string, () => Promise<{ status: number, body: any }>]> = [
    ['inquiry', async () => await c.req('POST', `/v1/calls/${c1}/inquiry`, TOKENS.agent1001, { ...budi, topic: 'disruption' })],
    ['consent', async () => await c.req('POST', `/v1/calls/${c1}/consent`, TOKENS.agent1001, { accepted: false })],
    ['direct-transfer', async () => await c.req('POST', `/v1/calls/${c1}/direct-transfer`, TOKENS.agent1001, { target: 3 })],
    ['CTI call.offered', async () => await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'c-09', data: { callerIdNum: '08119' } })],
    ['CTI call.ended', async () => await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: c1, data: { reason: 'caller hung up' } })],
    ['ACW extend (supervisor)', async () => await c.req('POST', '/v1/agents/1002/acw', TOKENS.supervisor, { extendSeconds: 30 })],
    ['ACW end (supervisor)', async () => await c.req('POST', '/v1/agents/1002/acw', TOKENS.supervisor, { end: true })]
  ]
  for (const [name, call] of writes) {
    const r = await call()
    t.equal(r.status, 503, `${name}: 503 (${JSON.stringify(r.body)})`)
    t.equal(r.body.error, 'STORE_UNAVAILABLE', `${name}: STORE_UNAVAILABLE`)
    t.match(r.body.message, /read-only/, `${name}: says why (in words, not the driver's text)`)
  }
  t.equal(c.fake.actionsNamed('BlindTransfer').length, 0, 'no BlindTransfer reached Asterisk: "transferring" could not be recorded first')
  const view = await c.req('GET', `/v1/calls/${c1}`, TOKENS.supervisor)
  t.equal(view.status, 200, 'reads still work')
  t.match(view.body, { state: 'connected', topic: 'activation', consent: { accepted: true } }, 'nothing the refused requests asked for was applied')
  t.equal(view.body.transfer, undefined)
  t.match((await c.req('GET', '/v1/agents/1001', TOKENS.supervisor)).body, { state: 'on_call', callId: c1 }, 'a refused call.ended left the agent on the call (the PBX retries it)')
  t.equal((await c.req('GET', '/v1/agents/1002', TOKENS.supervisor)).body.state, 'acw', 'ACW unchanged by the refused supervisor actions')

  // Asterisk keeps talking: c1's customer hangs up, a new call reaches 1002's device.
  c.fake.send('Event: Hangup\r\nChannel: PJSIP/trunk-01\r\nLinkedid: c-01\r\nCause: 16\r\n\r\n')
  c.fake.send('Event: AgentConnect\r\nQueue: pln123\r\nInterface: Local/1002@agents/n\r\nChannel: PJSIP/trunk-03\r\nLinkedid: c-03\r\nCallerIDNum: 081103\r\nDestChannel: Local/1002@agents-000003;1\r\n\r\n')
  c.fake.send('Event: Hangup\r\nChannel: Local/1001@agents-000001;1\r\nLinkedid: c-01\r\nCause: 16\r\n\r\n')
  c.channels.splice(0, c.channels.length, leg('1002', '03'), customer('03'))
  await eventually('events handled', async () => c.lines.some(l => /store unavailable: changes from Asterisk/.test(l.msg ?? '')) ? true : undefined, 2000)
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(c.lines.filter(l => /store unavailable: changes from Asterisk/.test(l.msg ?? '')).length, 1, 'logged once for the outage, not once per event')
  t.equal(c.lines.filter(l => l.msg === 'AMI event handler failed').length, 0, 'no handler failure escaped to the adapter')
  t.ok(c.svc.ami.ready, 'the AMI session is still up')
  t.equal((await c.req('GET', '/healthz', TOKENS.supervisor)).status, 200, 'the process is alive')

  c.readonly(false)
  await eventually('/readyz 200 again', async () => (await c.req('GET', '/readyz', TOKENS.supervisor)).status === 200 ? true : undefined, 3000)
  await eventually('healed from Asterisk', async () => c.svc.tracker.get(c1)?.state === 'ended' && c.svc.tracker.get('c-03')?.state === 'connected' ? true : undefined, 3000)
  t.match(c.svc.tracker.get(c1)?.endReason, /could not see it/, 'the call that ended meanwhile is settled by the resync')
  t.equal((await c.req('GET', '/v1/agents/1001', TOKENS.supervisor)).body.state, 'acw', 'its agent got its ACW, late rather than never')
  const mine = await c.req('GET', '/v1/agents/1002/call', TOKENS.agent1002)
  t.equal(mine.body.callId, 'c-03', 'the call that began meanwhile is known again')
  const inq = await c.req('POST', '/v1/calls/c-03/inquiry', TOKENS.agent1002, budi)
  t.equal(inq.status, 200, 'requests succeed again')
  t.ok(c.lines.some(l => /store writable again/.test(l.msg ?? '')), 'says the store is back')
})

t.test('store goes read-only while Asterisk confirms a transfer: 503, recorded when back, never transferred twice', async t => {
  const c = await setup(t)
  const id = await connect(c, '05', '1001')
  await c.req('POST', `/v1/calls/${id}/inquiry`, TOKENS.agent1001, budi)
  await c.req('POST', `/v1/calls/${id}/consent`, TOKENS.agent1001, { accepted: true })
  c.release() // hold the BlindTransfer event
  const pending = c.req('POST', `/v1/calls/${id}/direct-transfer`, TOKENS.agent1001, { target: 3 })
  await waitFor('BlindTransfer at the PBX', () => c.fake.actionsNamed('BlindTransfer').length === 1)
  await new Promise(resolve => setTimeout(resolve, 50))
  c.readonly(true)
  // By the time the store is back the customer has already left ICONNET too: the resync
  // alone could not tell a transfer from a hangup; the confirmed fact must be kept.
  c.channels.splice(0, c.channels.length)
  c.release()
  const press = await pending
  t.equal(press.status, 503, `no success claim for an unrecorded transfer: ${JSON.stringify(press.body)}`)
  t.equal(press.body.error, 'STORE_UNAVAILABLE')
  t.match(press.body.message, /confirmed the transfer/, 'says the transfer was made')
  const again = await c.req('POST', `/v1/calls/${id}/direct-transfer`, TOKENS.agent1001, { target: 3 })
  t.not(again.status, 200, `a second press is refused (${again.status} ${again.body.error as string})`)
  t.equal(c.fake.actionsNamed('BlindTransfer').length, 1, 'one BlindTransfer in all')
  c.readonly(false)
  t.equal((await c.req('POST', `/v1/calls/${id}/direct-transfer`, TOKENS.agent1001, { target: 3 })).status, 409, 'with the store back, a press is refused with 409')
  const done = await eventually('the transfer recorded once the store is back', async () => { const x = c.svc.tracker.get(id); return x?.state === 'transferred' ? x : undefined }, 3000)
  t.equal(done.transfer?.status, 'completed')
  t.ok(done.apkt?.recordId !== undefined, 'with its APKT record')
  const recs = await c.req('GET', '/v1/apkt/records?limit=100', TOKENS.supervisor)
  t.equal((recs.body.records as Array<{ callId: string }>).filter(r => r.callId === id).length, 1, 'exactly one APKT record')
  t.equal((await c.req('GET', '/v1/agents/1001', TOKENS.supervisor)).body.state, 'acw', 'the agent is in ACW after the transfer')
  t.equal(c.fake.actionsNamed('BlindTransfer').length, 1, 'still one BlindTransfer')
})
