// Fault: the SQLite store stops taking writes while the service runs (SQLITE_READONLY).
// In process, with a fake AMI that answers like Asterisk, so every path can be driven on
// demand. The engine's connection is internal to the store port, so the fault is put at
// the port: every commit and check of the real store answers the SQLite engine's own
// error class (Database.SqliteError SQLITE_READONLY) while it is on; what the service
// does with it (the journal, the routes, readiness) is the real thing. The disk-full
// variant with a real process, the real engine and the real sandbox is store-full.test.ts.
//
// What must hold: once the journal knows the store is away, every request that must
// persist answers 503 STORE_UNAVAILABLE at once with nothing done (never 500, never a
// success claim, nothing sent to Asterisk); reads still work; /readyz names the store
// until the changes kept meanwhile are written; AMI events meanwhile are kept, in order,
// and written once the store takes writes again (a call that ended meanwhile gets its
// APKT record after it, ACW is enforced), logged once, without crashing anything.
import t, { type Test } from 'tap'
import pino from 'pino'
import Database from 'better-sqlite3'
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

async function setup (t: Test, opts: { acwSeconds?: number } = {}): Promise<Ctx> {
  const channels: Array<Record<string, string>> = []
  let held: Array<() => void> = []
  let hold = false
  const fake = await FakeAmi.start({ handler: asteriskLike((send) => { if (hold) held.push(send); else send() }, () => channels) })
  const lines: LogLine[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine); cb() } })
  const svc = await createService(testConfig(fake.port, raw => {
    raw.ami.actionTimeoutMs = 1000
    raw.acw = { seconds: opts.acwSeconds ?? 30, mode: 'fixed' }
  }), pino({ level: 'debug' }, sink))
  t.teardown(async () => { await svc.stop(); await fake.stop() })
  // The fault, at the port (see the top of the file): writes refused as a read-only file refuses them.
  let readOnly = false
  const refuse = (): never => { throw new Database.SqliteError('attempt to write a readonly database', 'SQLITE_READONLY') }
  const commit = svc.store.commit.bind(svc.store)
  const check = svc.store.check.bind(svc.store)
  svc.store.commit = async changes => { if (readOnly) refuse(); await commit(changes) }
  svc.store.check = async () => { if (readOnly) refuse(); await check() }
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
    readonly: (on) => { readOnly = on },
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

const rina = { topic: 'billing', customer: { name: 'Rina', salutation: 'Ibu' } } // educate: its APKT record is made when the call ends
const KEPT_LOG = /store unavailable: changes are kept in order/
const pausesOf = (c: Ctx, agent: string): number => c.fake.actionsNamed('QueuePause').filter(a => a.headers.interface === `Local/${agent}@agents/n` && /^(1|true)$/i.test(a.headers.paused ?? '')).length

t.test('store read-only: 503 at once for every write, nothing done; AMI events kept and written when back', async t => {
  const c = await setup(t)
  const c1 = await connect(c, '01', '1001')
  t.equal((await c.req('POST', `/v1/calls/${c1}/inquiry`, TOKENS.agent1001, budi)).status, 200)
  t.equal((await c.req('POST', `/v1/calls/${c1}/consent`, TOKENS.agent1001, { accepted: true })).status, 200)
  const c2 = await connect(c, '02', '1002')
  t.equal((await c.req('POST', `/v1/calls/${c2}/inquiry`, TOKENS.agent1002, rina)).status, 200)
  const pausesBefore = { '1001': pausesOf(c, '1001'), '1002': pausesOf(c, '1002') }

  c.readonly(true)
  // /readyz checks the store at most once a second: the first answer may predate the fault.
  const ready = await eventually('/readyz 503', async () => { const r = await c.req('GET', '/readyz', TOKENS.supervisor); return r.status === 503 ? r : undefined }, 3000)
  t.equal(ready.body.checks.store.ok, false)
  t.equal(ready.body.message, 'not ready: store', 'the store is named')
  t.equal(ready.body.checks.ami.ok, true, 'AMI is not blamed')
  const status = await c.req('GET', '/v1/status', TOKENS.supervisor)
  t.match(status.body.store.detail, /readonly/, `/v1/status says why: ${status.body.store.detail as string}`)

  // Asterisk keeps talking: c2's customer hangs up. The journal cannot write it: it keeps
  // it, and from now on knows the store is away.
  c.fake.send('Event: Hangup\r\nChannel: PJSIP/trunk-02\r\nLinkedid: c-02\r\nCause: 16\r\n\r\n')
  c.fake.send('Event: Hangup\r\nChannel: Local/1002@agents-000002;1\r\nLinkedid: c-02\r\nCause: 16\r\n\r\n')
  c.channels.splice(0, c.channels.length, ...c.channels.filter(ch => ch.Linkedid !== c2))
  await eventually('the journal in an outage', async () => c.lines.some(l => KEPT_LOG.test(l.msg ?? '')) ? true : undefined, 5000)
  t.equal(c.svc.tracker.get(c2)?.state, 'ended', 'the hangup is in the live picture at once')
  t.equal((await c.req('GET', '/v1/agents/1002', TOKENS.supervisor)).body.state, 'acw', 'its agent is in ACW')

  const writes: Array<[string, () => Promise<{ status: number, body: any }>]> = [
    ['inquiry', async () => await c.req('POST', `/v1/calls/${c1}/inquiry`, TOKENS.agent1001, { ...budi, topic: 'disruption' })],
    ['consent', async () => await c.req('POST', `/v1/calls/${c1}/consent`, TOKENS.agent1001, { accepted: false })],
    ['direct-transfer', async () => await c.req('POST', `/v1/calls/${c1}/direct-transfer`, TOKENS.agent1001, { target: 3 })],
    ['CTI call.offered', async () => await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'c-09', data: { callerIdNum: '08119' } })],
    ['CTI call.ended', async () => await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: c1, data: { reason: 'caller hung up' } })]
  ]
  for (const [name, call] of writes) {
    const t0 = Date.now()
    const r = await call()
    t.equal(r.status, 503, `${name}: 503 (${JSON.stringify(r.body)})`)
    t.equal(r.body.error, 'STORE_UNAVAILABLE', `${name}: STORE_UNAVAILABLE`)
    t.ok(Date.now() - t0 < 2000, `${name}: refused at once, not after waiting for a commit (${Date.now() - t0} ms)`)
    t.match(r.body.message, /cannot take writes now/, `${name}: says so in words`)
    t.notMatch(JSON.stringify(r.body), /SQLITE|readonly database/, `${name}: no driver text`)
    t.match(r.body.message, /read-only/, `${name}: says why`)
  }
  t.equal(c.fake.actionsNamed('BlindTransfer').length, 0, 'no BlindTransfer reached Asterisk: "transferring" could not be recorded first')
  const view = await c.req('GET', `/v1/calls/${c1}`, TOKENS.supervisor)
  t.equal(view.status, 200, 'reads still work')
  t.match(view.body, { state: 'connected', topic: 'activation', consent: { accepted: true } }, 'nothing the refused requests asked for was applied')
  t.equal(view.body.transfer, undefined)
  t.match((await c.req('GET', '/v1/agents/1001', TOKENS.supervisor)).body, { state: 'on_call', callId: c1 }, 'a refused call.ended left the agent on the call (the PBX retries it)')
  t.equal(c.svc.tracker.get('c-09'), undefined, 'the refused call.offered is not known')

  // More from Asterisk: c1's customer hangs up too.
  c.fake.send('Event: Hangup\r\nChannel: PJSIP/trunk-01\r\nLinkedid: c-01\r\nCause: 16\r\n\r\n')
  c.fake.send('Event: Hangup\r\nChannel: Local/1001@agents-000001;1\r\nLinkedid: c-01\r\nCause: 16\r\n\r\n')
  c.channels.splice(0, c.channels.length)
  await eventually('c1 ended in memory', async () => c.svc.tracker.get(c1)?.state === 'ended' ? true : undefined, 2000)
  await new Promise(resolve => setTimeout(resolve, 300))
  t.equal(c.lines.filter(l => KEPT_LOG.test(l.msg ?? '')).length, 1, 'logged once for the outage, not once per event')
  t.equal(c.lines.filter(l => l.msg === 'AMI event handler failed').length, 0, 'no handler failure escaped to the adapter')
  t.ok(c.svc.ami.ready, 'the AMI session is still up')
  t.equal((await c.req('GET', '/healthz', TOKENS.supervisor)).status, 200, 'the process is alive')
  t.same({ '1001': pausesOf(c, '1001'), '1002': pausesOf(c, '1002') }, pausesBefore, 'no ACW pause reached Asterisk before its deadline was recorded')
  t.equal(await c.svc.store.calls.get(c2).then(x => x?.state), 'connected', 'the store still has c2 as it was: nothing written')
  const stillDown = await c.req('GET', '/readyz', TOKENS.supervisor)
  t.equal(stillDown.status, 503, '/readyz says store until the kept changes are written')
  t.equal(stillDown.body.message, 'not ready: store')

  c.readonly(false)
  // The journal retries with a growing pause (up to 5 s), then readiness refreshes within a second.
  await eventually('/readyz 200 again', async () => (await c.req('GET', '/readyz', TOKENS.supervisor)).status === 200 ? true : undefined, 10_000)
  t.ok(c.lines.some(l => /store writable again/.test(l.msg ?? '')), 'says the store is back')
  // The AMI events kept through the outage are in the store, as they happened.
  t.match(await c.svc.store.calls.get(c2), { state: 'ended', apkt: { recordId: String } }, 'c2, ended meanwhile, recorded with its APKT record')
  const ended1 = await c.svc.store.calls.get(c1)
  t.equal(ended1?.state, 'ended', 'c1, ended meanwhile, recorded')
  t.notMatch(ended1?.endReason ?? '', /could not see it/, 'from the hangup itself (kept), not guessed by a resync')
  const recs = await c.req('GET', '/v1/apkt/records?limit=100', TOKENS.supervisor)
  t.equal((recs.body.records as Array<{ callId: string }>).filter(r => r.callId === c2).length, 1, 'exactly one APKT record for c2, in the outbox')
  t.equal((recs.body.records as Array<{ callId: string }>).filter(r => r.callId === c1).length, 0, 'none for c1 (activation, not transferred)')
  // ACW is enforced: both agents in ACW, paused at Asterisk once their deadlines are recorded.
  for (const agent of ['1001', '1002']) {
    t.equal((await c.req('GET', `/v1/agents/${agent}`, TOKENS.supervisor)).body.state, 'acw', `agent ${agent} in ACW, late rather than never`)
    await eventually(`agent ${agent} paused`, async () => pausesOf(c, agent) > pausesBefore[agent as '1001' | '1002'] ? true : undefined, 5000)
    t.pass(`agent ${agent} paused at Asterisk after the outage`)
  }
  t.ok((await c.svc.store.acw.all()).some(e => e.agentId === '1002'), "1002's ACW deadline is in the store")
  const offered = await c.req('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'c-10', data: { callerIdNum: '081110' } })
  t.equal(offered.status, 202, 'requests succeed again')
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
  // In the store (not only in memory): the journal kept the confirmed outcome and writes it.
  const done = await eventually('the transfer recorded once the store is back', async () => { const x = await c.svc.store.calls.get(id); return x?.state === 'transferred' ? x : undefined }, 10_000)
  t.equal(done.transfer?.status, 'completed')
  t.ok(done.apkt?.recordId !== undefined, 'with its APKT record')
  const recs = await c.req('GET', '/v1/apkt/records?limit=100', TOKENS.supervisor)
  t.equal((recs.body.records as Array<{ callId: string }>).filter(r => r.callId === id).length, 1, 'exactly one APKT record')
  t.equal((await c.req('GET', '/v1/agents/1001', TOKENS.supervisor)).body.state, 'acw', 'the agent is in ACW after the transfer')
  t.equal(c.fake.actionsNamed('BlindTransfer').length, 1, 'still one BlindTransfer')
})

t.test('an ACW that begins and ends while the store is away: over once it is back, the agent not left paused', async t => {
  const c = await setup(t, { acwSeconds: 1 })
  const id = await connect(c, '07', '1001')
  c.readonly(true)
  c.fake.send('Event: Hangup\r\nChannel: PJSIP/trunk-07\r\nLinkedid: c-07\r\nCause: 16\r\n\r\n')
  c.fake.send('Event: Hangup\r\nChannel: Local/1001@agents-000007;1\r\nLinkedid: c-07\r\nCause: 16\r\n\r\n')
  c.channels.splice(0, c.channels.length)
  await eventually('the journal in an outage', async () => c.lines.some(l => KEPT_LOG.test(l.msg ?? '')) ? true : undefined, 5000)
  t.equal(c.svc.tracker.get(id)?.state, 'ended')
  // The 1 s deadline passes while nothing can be written.
  await eventually('ACW over in memory', async () => c.svc.acw.entry('1001') === undefined ? true : undefined, 5000)
  c.readonly(false)
  await eventually('/readyz 200 again', async () => (await c.req('GET', '/readyz', TOKENS.supervisor)).status === 200 ? true : undefined, 10_000)
  await eventually('the ACW written and ended in the store', async () => (await c.svc.store.acw.all()).every(e => e.agentId !== '1001') && (await c.svc.store.calls.get(id))?.state === 'ended' ? true : undefined, 5000)
  await new Promise(resolve => setTimeout(resolve, 500)) // what the recorded start triggers afterwards
  const last = c.fake.actionsNamed('QueuePause').filter(a => a.headers.interface === 'Local/1001@agents/n').at(-1)
  t.notOk(last !== undefined && /^(1|true)$/i.test(last.headers.paused ?? ''), `the last QueuePause for 1001 is not a pause (${JSON.stringify(last?.headers)})`)
  t.equal((await c.req('GET', '/v1/agents/1001', TOKENS.supervisor)).body.state, 'ready', 'the agent is ready, not in ACW')
})
